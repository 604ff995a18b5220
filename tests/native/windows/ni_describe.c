/* Compiled into the tests and into ni_handleprobe.exe: both describe a handle with this one function,
   so equal text on both sides means the same object, not just the same handle value. */
#include "ni_test.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>

/* "<host> <port>" of the socket's local address; 0 if it has none (or is no socket). */
static int socket_address(SOCKET s, char* out, size_t size)
{
    struct sockaddr_storage address;
    int length = (int)sizeof address;
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(s, (struct sockaddr*)&address, &length) != 0 ||
        getnameinfo((struct sockaddr*)&address, length, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return 0;
    snprintf(out, size, "%s %s", host, port);
    return 1;
}

void ni_test_describe_handle(ni_handle handle, char* out, size_t size)
{
    HANDLE h = (HANDLE)handle;
    DWORD flags;
    if (!GetHandleInformation(h, &flags))
    {
        snprintf(out, size, "-");
        return;
    }
    /* GetFileType calls a socket a pipe: ask Winsock first. By its local address, the one thing wine
       can tell about an inherited socket (getsockopt and getpeername fail there), so an unbound socket
       reads as a pipe. */
    char local[NI_MAXHOST + NI_MAXSERV + 2];
    if (socket_address((SOCKET)handle, local, sizeof local))
    {
        snprintf(out, size, "socket %s", local);
        return;
    }
    switch (GetFileType(h))
    {
        case FILE_TYPE_DISK:
        {
            wchar_t path[NI_TEST_PATH_MAX];
            char utf8[NI_TEST_PATH_MAX * 3];
            DWORD n = GetFinalPathNameByHandleW(h, path, NI_TEST_PATH_MAX, FILE_NAME_NORMALIZED);
            if (n == 0 || n >= NI_TEST_PATH_MAX ||
                WideCharToMultiByte(CP_UTF8, 0, path, -1, utf8, (int)sizeof utf8, NULL, NULL) == 0)
                snprintf(utf8, sizeof utf8, "?");
            snprintf(out, size, "disk %s", utf8);
            return;
        }
        case FILE_TYPE_PIPE:
        {
            /* The bytes waiting in it tell two pipes apart when a test writes different amounts. */
            DWORD available;
            if (PeekNamedPipe(h, NULL, 0, NULL, &available, NULL))
                snprintf(out, size, "pipe %lu", (unsigned long)available);
            else
                snprintf(out, size, "pipe");
            return;
        }
        case FILE_TYPE_CHAR:
            snprintf(out, size, "char");
            return;
        default:
            snprintf(out, size, "other");
            return;
    }
}
