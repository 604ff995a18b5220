/* Error codes: the portable class of a Win32 or WSA code and its FormatMessage text. */
#include "win.h"

#include <stdio.h>

int32_t ni_error_kind(int32_t error)
{
    switch (error)
    {
        case ERROR_FILE_NOT_FOUND: return NI_ERR_NOENT;
        case ERROR_PATH_NOT_FOUND: case ERROR_INVALID_DRIVE: case ERROR_BAD_NETPATH: return NI_ERR_NOTDIR_PATH;
        case ERROR_ACCESS_DENIED: case ERROR_PRIVILEGE_NOT_HELD: case WSAEACCES: return NI_ERR_ACCESS;
        case ERROR_FILE_EXISTS: case ERROR_ALREADY_EXISTS: return NI_ERR_EXIST;
        case ERROR_DIRECTORY_NOT_SUPPORTED: return NI_ERR_ISDIR;
        case ERROR_DIRECTORY: return NI_ERR_NOTDIR;
        case ERROR_FILENAME_EXCED_RANGE: return NI_ERR_NAMETOOLONG;
        case ERROR_SHARING_VIOLATION: case ERROR_LOCK_VIOLATION: case WSAEWOULDBLOCK: return NI_ERR_WOULDBLOCK;
        case ERROR_INVALID_PARAMETER: case WSAEINVAL: return NI_ERR_INVAL;
        case ERROR_INVALID_HANDLE: case WSAEBADF: return NI_ERR_BADF;
        case ERROR_TOO_MANY_OPEN_FILES: case WSAEMFILE: return NI_ERR_MFILE;
        case ERROR_DISK_FULL: case ERROR_HANDLE_DISK_FULL: return NI_ERR_NOSPC;
        case ERROR_FILE_TOO_LARGE: return NI_ERR_FBIG;
        case ERROR_CANT_RESOLVE_FILENAME: return NI_ERR_LOOP;
        case ERROR_WRITE_PROTECT: return NI_ERR_ROFS;
        case WSAEAFNOSUPPORT: return NI_ERR_AFNOSUPPORT;
        case WSAEPROTONOSUPPORT: return NI_ERR_PROTONOSUPPORT;
        case WSAEPROTOTYPE: return NI_ERR_PROTOTYPE;
        case WSAESOCKTNOSUPPORT: return NI_ERR_SOCKTNOSUPPORT;
        case WSAENOTSOCK: return NI_ERR_NOTSOCK;
        case WSAEOPNOTSUPP: case ERROR_NOT_SUPPORTED: return NI_ERR_OPNOTSUPP;
        case WSAECONNABORTED: return NI_ERR_CONNABORTED;
        case WSAECONNRESET: return NI_ERR_CONNRESET;
        case WSAENOTCONN: return NI_ERR_NOTCONN;
        case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: case WSAENOBUFS: return NI_ERR_NOMEM;
        case WSAEINTR: return NI_ERR_INTR;
        case ERROR_CANCELLED: case ERROR_REQUEST_ABORTED: return NI_ERR_CANCELED;
        case ERROR_NOTHING_TO_TERMINATE: return NI_ERR_SRCH; /* ni_kill on a child that has exited */
        case ERROR_WAIT_NO_CHILDREN: return NI_ERR_CHILD;
        case ERROR_BROKEN_PIPE: case ERROR_NO_DATA: return NI_ERR_PIPE;
        default: return NI_ERR_OTHER;
    }
}

int32_t ni_error_code(int32_t kind)
{
    switch (kind)
    {
        case NI_ERR_NOENT: return ERROR_FILE_NOT_FOUND;
        case NI_ERR_NOTDIR_PATH: return ERROR_PATH_NOT_FOUND;
        case NI_ERR_ACCESS: return ERROR_ACCESS_DENIED;
        case NI_ERR_EXIST: return ERROR_FILE_EXISTS;
        case NI_ERR_ISDIR: return ERROR_DIRECTORY_NOT_SUPPORTED;
        case NI_ERR_NOTDIR: return ERROR_DIRECTORY;
        case NI_ERR_NAMETOOLONG: return ERROR_FILENAME_EXCED_RANGE;
        case NI_ERR_WOULDBLOCK: return ERROR_SHARING_VIOLATION;
        case NI_ERR_INVAL: return ERROR_INVALID_PARAMETER;
        case NI_ERR_BADF: return ERROR_INVALID_HANDLE;
        case NI_ERR_MFILE: return ERROR_TOO_MANY_OPEN_FILES;
        case NI_ERR_NOSPC: return ERROR_DISK_FULL;
        case NI_ERR_FBIG: return ERROR_FILE_TOO_LARGE;
        case NI_ERR_LOOP: return ERROR_CANT_RESOLVE_FILENAME;
        case NI_ERR_ROFS: return ERROR_WRITE_PROTECT;
        case NI_ERR_AFNOSUPPORT: return WSAEAFNOSUPPORT;
        case NI_ERR_PROTONOSUPPORT: return WSAEPROTONOSUPPORT;
        case NI_ERR_PROTOTYPE: return WSAEPROTOTYPE;
        case NI_ERR_SOCKTNOSUPPORT: return WSAESOCKTNOSUPPORT;
        case NI_ERR_NOTSOCK: return WSAENOTSOCK;
        case NI_ERR_OPNOTSUPP: return WSAEOPNOTSUPP;
        case NI_ERR_CONNABORTED: return WSAECONNABORTED;
        case NI_ERR_NOMEM: return ERROR_NOT_ENOUGH_MEMORY;
        case NI_ERR_INTR: return WSAEINTR;
        case NI_ERR_CONNRESET: return WSAECONNRESET;
        case NI_ERR_NOTCONN: return WSAENOTCONN;
        case NI_ERR_CANCELED: return ERROR_CANCELLED;
        case NI_ERR_SRCH: return ERROR_NOTHING_TO_TERMINATE;
        case NI_ERR_CHILD: return ERROR_WAIT_NO_CHILDREN;
        case NI_ERR_PIPE: return ERROR_BROKEN_PIPE;
        default: return 0;
    }
}

int32_t ni_error_message(int32_t error, char* buffer, int32_t size)
{
    if (buffer == NULL || size < 1)
        return ERROR_INVALID_PARAMETER;
    wchar_t wide[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)error,
                             0, wide, 512, NULL);
    /* FormatMessage ends its text with ".\r\n"; the runtime's messages do not. */
    while (n > 0 && (wide[n - 1] == L'\n' || wide[n - 1] == L'\r' || wide[n - 1] == L' '))
        wide[--n] = L'\0';
    /* Converted whole, then cut to the caller's size: WideCharToMultiByte fails outright on a
       buffer too small, which would turn a truncated message into "Unknown error". */
    char text[512 * 3];
    if (n == 0 || WideCharToMultiByte(CP_UTF8, 0, wide, -1, text, (int)sizeof text, NULL, NULL) == 0)
        snprintf(text, sizeof text, "Unknown error (0x%x)", (unsigned)error);
    snprintf(buffer, (size_t)size, "%s", text);
    return 0;
}
