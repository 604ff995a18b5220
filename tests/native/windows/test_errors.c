/* ni_error_kind, ni_error_message and ni_capabilities on Windows. */
#include "ni_test.h"

#include <winsock2.h>
#include <windows.h>
#include <string.h>

#ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#  define ERROR_DIRECTORY_NOT_SUPPORTED 336L /* missing from older MinGW headers */
#endif
#ifndef ERROR_NOTHING_TO_TERMINATE
#  define ERROR_NOTHING_TO_TERMINATE 758L /* missing from MinGW's headers */
#endif
/* Until noinherit.h has them. */

static void error_kind_maps(void)
{
    static const struct { int error, kind; } cases[] = {
        { ERROR_FILE_NOT_FOUND, NI_ERR_NOENT }, { ERROR_PATH_NOT_FOUND, NI_ERR_NOTDIR_PATH },
        { ERROR_INVALID_DRIVE, NI_ERR_NOTDIR_PATH }, { ERROR_BAD_NETPATH, NI_ERR_NOTDIR_PATH },
        { ERROR_ACCESS_DENIED, NI_ERR_ACCESS }, { ERROR_PRIVILEGE_NOT_HELD, NI_ERR_ACCESS }, { WSAEACCES, NI_ERR_ACCESS },
        { ERROR_FILE_EXISTS, NI_ERR_EXIST }, { ERROR_ALREADY_EXISTS, NI_ERR_EXIST },
        { ERROR_DIRECTORY_NOT_SUPPORTED, NI_ERR_ISDIR }, { ERROR_DIRECTORY, NI_ERR_NOTDIR },
        { ERROR_FILENAME_EXCED_RANGE, NI_ERR_NAMETOOLONG },
        { ERROR_SHARING_VIOLATION, NI_ERR_WOULDBLOCK }, { ERROR_LOCK_VIOLATION, NI_ERR_WOULDBLOCK },
        { WSAEWOULDBLOCK, NI_ERR_WOULDBLOCK },
        { ERROR_INVALID_PARAMETER, NI_ERR_INVAL }, { WSAEINVAL, NI_ERR_INVAL },
        { ERROR_INVALID_HANDLE, NI_ERR_BADF }, { WSAEBADF, NI_ERR_BADF },
        { ERROR_TOO_MANY_OPEN_FILES, NI_ERR_MFILE }, { WSAEMFILE, NI_ERR_MFILE },
        { ERROR_DISK_FULL, NI_ERR_NOSPC }, { ERROR_HANDLE_DISK_FULL, NI_ERR_NOSPC },
        { ERROR_FILE_TOO_LARGE, NI_ERR_FBIG }, { ERROR_CANT_RESOLVE_FILENAME, NI_ERR_LOOP },
        { ERROR_WRITE_PROTECT, NI_ERR_ROFS },
        { WSAEAFNOSUPPORT, NI_ERR_AFNOSUPPORT }, { WSAEPROTONOSUPPORT, NI_ERR_PROTONOSUPPORT },
        { WSAEPROTOTYPE, NI_ERR_PROTOTYPE }, { WSAESOCKTNOSUPPORT, NI_ERR_SOCKTNOSUPPORT },
        { WSAENOTSOCK, NI_ERR_NOTSOCK }, { WSAEOPNOTSUPP, NI_ERR_OPNOTSUPP }, { ERROR_NOT_SUPPORTED, NI_ERR_OPNOTSUPP },
        { WSAECONNABORTED, NI_ERR_CONNABORTED }, { WSAECONNRESET, NI_ERR_CONNRESET },
        { WSAENOTCONN, NI_ERR_NOTCONN },
        { ERROR_NOT_ENOUGH_MEMORY, NI_ERR_NOMEM }, { ERROR_OUTOFMEMORY, NI_ERR_NOMEM }, { WSAENOBUFS, NI_ERR_NOMEM },
        { WSAEINTR, NI_ERR_INTR }, { ERROR_CANCELLED, NI_ERR_CANCELED }, { ERROR_REQUEST_ABORTED, NI_ERR_CANCELED },
        { ERROR_NOTHING_TO_TERMINATE, NI_ERR_SRCH }, { ERROR_WAIT_NO_CHILDREN, NI_ERR_CHILD },
        { ERROR_BROKEN_PIPE, NI_ERR_PIPE }, { ERROR_NO_DATA, NI_ERR_PIPE },
        /* a process handle that is no process is a bad handle, not a gone process */
        { ERROR_INVALID_HANDLE, NI_ERR_BADF },
        { 0, NI_ERR_OTHER }, { ERROR_GEN_FAILURE, NI_ERR_OTHER }, { ERROR_PROC_NOT_FOUND, NI_ERR_OTHER },
        { WSAEFAULT, NI_ERR_OTHER }, { -1, NI_ERR_OTHER }, { 99999, NI_ERR_OTHER },
        /* errno values mean nothing here: ENOENT (2) is ERROR_FILE_NOT_FOUND, EEXIST (17) is not a class */
        { 17, NI_ERR_OTHER },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (!CHECK_INT(ni_error_kind(cases[i].error), cases[i].kind))
            printf("  for error %d\n", cases[i].error);

    /* And for codes as the library really returns them. */
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "missing");
    ni_handle h;
    CHECK_INT(ni_error_kind(ni_open(missing, NI_O_RDONLY, 0, &h)), NI_ERR_NOENT);
    CHECK_INT(ni_error_kind(ni_close(NI_TEST_BAD_HANDLE)), NI_ERR_BADF);
    CHECK_INT(ni_error_kind(ni_socket(99, NI_SOCK_STREAM, 0, &h)), NI_ERR_AFNOSUPPORT);
    CHECK_INT(ni_error_kind(ni_accept(NI_TEST_BAD_HANDLE, NULL, NULL, &h)), NI_ERR_NOTSOCK);
    /* A pipe whose reader is gone: what a write gets (EPIPE on POSIX). */
    ni_handle r, w;
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        CHECK_OK(ni_close(r));
        DWORD written = 0;
        CHECK(!WriteFile((HANDLE)w, "x", 1, &written, NULL));
        CHECK_INT(ni_error_kind((int32_t)GetLastError()), NI_ERR_PIPE);
        CHECK_OK(ni_close(w));
    }
}

/* FormatMessageW's text for `error` as UTF-8 without the trailing line break; 0 if it has none. */
static int system_message(int error, char* out, int size)
{
    wchar_t wide[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)error, 0,
                             wide, 512, NULL);
    while (n > 0 && (wide[n - 1] == L'\n' || wide[n - 1] == L'\r' || wide[n - 1] == L' '))
        wide[--n] = L'\0';
    return n > 0 && WideCharToMultiByte(CP_UTF8, 0, wide, -1, out, size, NULL, NULL) > 0;
}

static void error_message(void)
{
    /* Win32 codes and WSA codes alike: the system's text, or "Unknown error" where it has none
       (wine's message table has no WSA texts, Windows' has). */
    static const int codes[] = { ERROR_FILE_NOT_FOUND, ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION,
                                 WSAEWOULDBLOCK, WSAECONNRESET, 99999 };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    {
        char actual[1024], expected[1024];
        CHECK_OK(ni_error_message(codes[i], actual, (int32_t)sizeof actual));
        int known = system_message(codes[i], expected, (int)sizeof expected);
        if (!(known ? CHECK(strcmp(actual, expected) == 0) : CHECK(strncmp(actual, "Unknown error", 13) == 0)))
            printf("  for error %d: \"%s\"\n", codes[i], actual);
        if (!known && codes[i] != 99999)
            printf("  note: the system has no text for error %d\n", codes[i]);
        CHECK(strchr(actual, '\r') == NULL && strchr(actual, '\n') == NULL);
    }
    char buffer[64];
    CHECK_RC(ni_error_message(ERROR_FILE_NOT_FOUND, NULL, 16), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_error_message(ERROR_FILE_NOT_FOUND, buffer, 0), ERROR_INVALID_PARAMETER);
}

static void capabilities(void)
{
    /* Every creation is atomic on Windows, until an accept() proves otherwise (see test_accept.c);
       none happened in this process. */
    const uint32_t all = NI_CAP_OPEN_ATOMIC | NI_CAP_SOCKET_ATOMIC | NI_CAP_ACCEPT_ATOMIC |
                         NI_CAP_PIPE_ATOMIC | NI_CAP_DUP_ATOMIC;
    CHECK_INT(ni_capabilities(), all);
}

NI_TEST_MAIN(
    NI_TEST(error_kind_maps),
    NI_TEST(error_message),
    NI_TEST(capabilities))
