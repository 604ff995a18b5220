/* What the tests share with the child that reports what it holds (ni_fdlist, ni_handleprobe.exe), compiled
   into both: ni_test_describe_handle, so that equal text on both sides means the same object, not just
   the same handle value; and on Windows how arguments are printed as the system splits them. */
#include "ni_test.h"

#ifdef _WIN32

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

void ni_test_print_bracketed(const wchar_t* text, size_t length)
{
    char utf8[4096];
    int n = WideCharToMultiByte(CP_UTF8, 0, text, (int)length, utf8 + 1, (int)sizeof utf8 - 3, NULL, NULL);
    if (n <= 0 && length > 0)
        ExitProcess(92);
    utf8[0] = '[';
    utf8[n + 1] = ']';
    DWORD written;
    WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), utf8, (DWORD)n + 2, &written, NULL);
}

typedef LPWSTR* (WINAPI* split_fn)(LPCWSTR, int*);

int ni_test_print_arguments(int first)
{
    /* shell32 by name: nothing else here needs it linked. */
    split_fn split = (split_fn)(void (*)(void))GetProcAddress(LoadLibraryA("shell32.dll"), "CommandLineToArgvW");
    int argc = 0;
    LPWSTR* argv = split != NULL ? split(GetCommandLineW(), &argc) : NULL;
    if (argv == NULL)
        return 3;
    for (int i = first; i < argc; i++)
        ni_test_print_bracketed(argv[i], wcslen(argv[i]));
    return 0;
}

#else

#include <fcntl.h>
#include <sys/stat.h>

void ni_test_describe_handle(ni_handle handle, char* out, size_t size)
{
    if (handle < 0 || handle > INT_MAX || fcntl((int)handle, F_GETFD) < 0)
    {
        snprintf(out, size, "-");
        return;
    }
#ifdef __linux__
    /* What /proc shows: the path of a file, "pipe:[<inode>]", "socket:[<inode>]", "anon_inode:[...]". */
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", (int)handle);
    ssize_t n = readlink(link, out, size - 1);
    if (n >= 0)
    {
        out[n] = '\0';
        return;
    }
#endif
    /* Without /proc: the object's identity, which is what the comparison needs. */
    struct stat st;
    if (fstat((int)handle, &st) != 0)
        snprintf(out, size, "?");
    else
        snprintf(out, size, "%s:[%llu:%llu]", S_ISSOCK(st.st_mode) ? "socket" : S_ISFIFO(st.st_mode) ? "pipe" : "file",
                 (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

#endif
