/* ni_error_kind, ni_error_message and ni_capabilities, and (POSIX) the C half of the bad-input matrix
   (docs/reliability.md): each class of bad input against every entry point it applies to. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#  ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#    define ERROR_DIRECTORY_NOT_SUPPORTED 336L /* missing from older MinGW headers */
#  endif
#  ifndef ERROR_NOTHING_TO_TERMINATE
#    define ERROR_NOTHING_TO_TERMINATE 758L /* missing from MinGW's headers */
#  endif
#else
#  include <sys/stat.h>
#endif
#ifdef __linux__
#  include <sys/fsuid.h>
#endif

/* Each platform's own codes and the class each belongs to. */
static const struct { int error, kind; } g_kinds[] = {
#ifdef _WIN32
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
    { 0, NI_ERR_OTHER }, { ERROR_GEN_FAILURE, NI_ERR_OTHER }, { ERROR_PROC_NOT_FOUND, NI_ERR_OTHER },
    { WSAEFAULT, NI_ERR_OTHER }, { -1, NI_ERR_OTHER }, { 99999, NI_ERR_OTHER },
    /* errno values mean nothing here: ENOENT (2) is ERROR_FILE_NOT_FOUND, EEXIST (17) is not a class */
    { 17, NI_ERR_OTHER },
#else
    { ENOENT, NI_ERR_NOENT }, { EACCES, NI_ERR_ACCESS }, { EPERM, NI_ERR_ACCESS },
    { EEXIST, NI_ERR_EXIST }, { EISDIR, NI_ERR_ISDIR }, { ENOTDIR, NI_ERR_NOTDIR },
    { ENAMETOOLONG, NI_ERR_NAMETOOLONG }, { EWOULDBLOCK, NI_ERR_WOULDBLOCK },
    { EAGAIN, NI_ERR_WOULDBLOCK }, { EINVAL, NI_ERR_INVAL }, { EBADF, NI_ERR_BADF },
    { EMFILE, NI_ERR_MFILE }, { ENFILE, NI_ERR_MFILE }, { ENOSPC, NI_ERR_NOSPC },
    { EFBIG, NI_ERR_FBIG }, { ELOOP, NI_ERR_LOOP }, { EROFS, NI_ERR_ROFS },
    { EAFNOSUPPORT, NI_ERR_AFNOSUPPORT }, { EPROTONOSUPPORT, NI_ERR_PROTONOSUPPORT },
    { EPROTOTYPE, NI_ERR_PROTOTYPE }, { ESOCKTNOSUPPORT, NI_ERR_SOCKTNOSUPPORT },
    { ENOTSOCK, NI_ERR_NOTSOCK }, { EOPNOTSUPP, NI_ERR_OPNOTSUPP }, { ENOTSUP, NI_ERR_OPNOTSUPP },
    { ECONNABORTED, NI_ERR_CONNABORTED }, { ECONNRESET, NI_ERR_CONNRESET },
    { ENOTCONN, NI_ERR_NOTCONN }, { ENOMEM, NI_ERR_NOMEM }, { ENOBUFS, NI_ERR_NOMEM },
    { EINTR, NI_ERR_INTR }, { ECANCELED, NI_ERR_CANCELED }, { ESRCH, NI_ERR_SRCH },
    { ECHILD, NI_ERR_CHILD }, { EPIPE, NI_ERR_PIPE },
    { 0, NI_ERR_OTHER }, { EIO, NI_ERR_OTHER }, { -1, NI_ERR_OTHER },
    { 99999, NI_ERR_OTHER },
#endif
};

static void error_kind_maps(void)
{
    for (size_t i = 0; i < sizeof g_kinds / sizeof g_kinds[0]; i++)
        if (!CHECK_INT(ni_error_kind(g_kinds[i].error), g_kinds[i].kind))
            printf("  for error %d\n", g_kinds[i].error);

    /* ni_error_code names the platform's code of each class: its inverse. NOTDIR_PATH has none on POSIX. */
    for (int32_t kind = NI_ERR_NOENT; kind <= NI_ERR_PIPE; kind++)
    {
        int32_t code = ni_error_code(kind);
        if (code == 0 && kind == NI_ERR_NOTDIR_PATH && !NI_TEST_CODE(0, 1))
            continue;
        if (!CHECK_INT(ni_error_kind(code), kind))
            printf("  for class %d (code %d)\n", (int)kind, (int)code);
    }
    CHECK_INT(ni_error_code(NI_ERR_OTHER), 0);
    CHECK_INT(ni_error_code(-1), 0);
    CHECK_INT(ni_error_code(NI_ERR_PIPE + 1), 0);

    /* And for codes as the library really returns them. */
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "missing");
    ni_handle h;
    CHECK_INT(ni_error_kind(ni_open(missing, NI_O_RDONLY, 0, &h)), NI_ERR_NOENT);
    CHECK_INT(ni_error_kind(ni_close(NI_TEST_BAD_HANDLE)), NI_ERR_BADF);
    CHECK_INT(ni_error_kind(ni_socket(99, NI_SOCK_STREAM, 0, &h)), NI_ERR_AFNOSUPPORT);
    CHECK_INT(ni_error_kind(ni_accept(NI_TEST_BAD_HANDLE, NULL, NULL, &h)), NI_TEST_CODE(NI_ERR_BADF, NI_ERR_NOTSOCK));
    /* A pipe whose reader is gone: what a write gets (EPIPE, ERROR_NO_DATA). */
    ni_handle r, w;
    if (CHECK_OK(ni_pipe(&r, &w)))
    {
        CHECK_OK(ni_close(r));
        long long written = ni_test_write(w, "x", 1);
        CHECK(written < 0);
        CHECK_INT(ni_error_kind((int32_t)-written), NI_ERR_PIPE);
        CHECK_OK(ni_close(w));
    }
    /* A child that is already gone: signalling it is SRCH (this program, exiting at once). */
    const char* args[] = { "0", NULL };
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    const char* envp[] = { "NI_TEST_ROLE=exit", "SystemRoot=C:\\windows", NULL }; /* wine needs SystemRoot */
    ni_process process;
    int32_t exited = 0, code = -1;
    if (CHECK_OK(ni_spawn(argv[0], argv, envp, NULL, NULL, 0, 0, &process)))
    {
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(ni_error_kind(ni_kill(&process, 9)), NI_ERR_SRCH);
        CHECK_OK(ni_process_close(&process));
    }
#ifndef _WIN32
    /* Waiting for a process that is not our child: CHILD. */
    ni_process init = { 1, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_INT(ni_error_kind(ni_wait(&init, 0, &exited, &code)), NI_ERR_CHILD);
#endif
}

/* The system's own text for `error`, UTF-8 without a trailing line break; 0 if it has none. */
static int system_message(int error, char* out, int size)
{
#ifdef _WIN32
    wchar_t wide[512];
    DWORD n = FormatMessageW(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL, (DWORD)error, 0,
                             wide, 512, NULL);
    while (n > 0 && (wide[n - 1] == L'\n' || wide[n - 1] == L'\r' || wide[n - 1] == L' '))
        wide[--n] = L'\0';
    return n > 0 && WideCharToMultiByte(CP_UTF8, 0, wide, -1, out, size, NULL, NULL) > 0;
#else
    snprintf(out, (size_t)size, "%s", strerror(error));
    return 1;
#endif
}

static void error_message(void)
{
    /* The system's text (strerror; FormatMessageW for Win32 and WSA codes alike), or "Unknown error" where
       it has none (wine's message table has no WSA texts, Windows' has). The buffer contract is checked
       in test_common.c. */
    static const int codes[] = {
#ifdef _WIN32
        ERROR_FILE_NOT_FOUND, ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, WSAEWOULDBLOCK, WSAECONNRESET, 99999,
#else
        ENOENT, EWOULDBLOCK,
#endif
    };
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
    CHECK_RC(ni_error_message(NI_TEST_ENOENT, NULL, 16), NI_TEST_EINVAL);
    CHECK_RC(ni_error_message(NI_TEST_ENOENT, buffer, 0), NI_TEST_EINVAL);
}

static void capabilities(void)
{
    const uint32_t all = NI_CAP_OPEN_ATOMIC | NI_CAP_SOCKET_ATOMIC | NI_CAP_ACCEPT_ATOMIC |
                         NI_CAP_PIPE_ATOMIC | NI_CAP_DUP_ATOMIC;
#if defined(__linux__) || defined(_WIN32)
    /* Linux has every atomic form: O_CLOEXEC, SOCK_CLOEXEC, accept4, pipe2, F_DUPFD_CLOEXEC. Windows too,
       until an accept() proves otherwise (test_accept.c); none happened in this process. */
    CHECK_INT(ni_capabilities(), all);
#elif defined(__APPLE__)
    /* macOS: O_CLOEXEC and F_DUPFD_CLOEXEC, but no SOCK_CLOEXEC, accept4 or pipe2. */
    CHECK_INT(ni_capabilities(), all & ~(NI_CAP_SOCKET_ATOMIC | NI_CAP_ACCEPT_ATOMIC | NI_CAP_PIPE_ATOMIC));
#else
    CHECK_INT(ni_capabilities() & ~all, 0);
    ni_test_skip("which calls are atomic on this system is not written down here");
#endif
}

/* ---- The bad-input matrix (POSIX), one case per class of bad input ---- */

#ifndef _WIN32

static const char* const g_argv[] = { "prog", NULL };

/* NULL where the header requires a pointer: EINVAL, never a crash, never EFAULT. */
static void bad_input_null(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle h, r, w;
    int32_t value;
    ni_process p;
    CHECK_RC(ni_open(NULL, NI_O_RDONLY, 0, &h), EINVAL);
    CHECK_RC(ni_open(path, NI_O_RDONLY, 0, NULL), EINVAL);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, NULL), EINVAL);
    CHECK_RC(ni_accept(0, NULL, NULL, NULL), EINVAL);
    char address[16];
    CHECK_RC(ni_accept(0, address, NULL, &h), EINVAL); /* a buffer without its length */
    CHECK_RC(ni_copyfile(NULL, path, 0), EINVAL);
    CHECK_RC(ni_copyfile(path, NULL, 0), EINVAL);
    CHECK_RC(ni_copyfile_ex(NULL, path, 0, NULL, NULL), EINVAL);
    CHECK_RC(ni_pipe(NULL, &w), EINVAL);
    CHECK_RC(ni_pipe(&r, NULL), EINVAL);
    CHECK_RC(ni_dup(0, NULL), EINVAL);
    CHECK_RC(ni_get_inheritable(0, NULL), EINVAL);
    CHECK_RC(ni_error_message(ENOENT, NULL, 16), EINVAL);
    CHECK_RC(ni_list_handles(NULL, 4, &value), EINVAL);
    CHECK_RC(ni_list_handles(NULL, 0, NULL), EINVAL);
    char text[64];
    CHECK_RC(ni_describe(0, NULL, 16, &value), EINVAL);
    CHECK_RC(ni_describe(0, text, sizeof text, NULL), EINVAL);
    CHECK_RC(ni_seal(NULL, 0, NULL), EINVAL);
    CHECK_RC(ni_seal(NULL, 1, &value), EINVAL);
    CHECK_RC(ni_spawn(NULL, g_argv, NULL, NULL, NULL, 0, 0, &p), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", NULL, NULL, NULL, NULL, 0, 0, &p), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, NULL, 0, 0, NULL), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, NULL, 1, 0, &p), EINVAL); /* mappings NULL, count 1 */
    int32_t exited, code;
    p.pid = 1;
    p.handle = NI_INVALID_HANDLE;
    CHECK_RC(ni_wait(NULL, 0, &exited, &code), EINVAL);
    CHECK_RC(ni_wait(&p, 0, NULL, &code), EINVAL);
    CHECK_RC(ni_wait(&p, 0, &exited, NULL), EINVAL);
    CHECK_RC(ni_wait_for_exit(NULL, 0, &exited), EINVAL);
    CHECK_RC(ni_wait_for_exit(&p, 0, NULL), EINVAL);
    CHECK_RC(ni_kill(NULL, 0), EINVAL);
    CHECK_RC(ni_process_close(NULL), EINVAL);
    /* NULL where the header allows it: the parent's environment and directory, no address, no callback. */
    char copy[NI_TEST_PATH_MAX];
    ni_test_path(copy, "copy");
    CHECK_OK(ni_copyfile_ex(path, copy, 0, NULL, NULL));
}

/* An empty string is a path that does not exist: ENOENT, as open("") says; nothing is created. */
static void bad_input_empty_string(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle h;
    ni_process p;
    CHECK_RC(ni_open("", NI_O_RDONLY, 0, &h), ENOENT);
    CHECK_RC(ni_open("", NI_O_WRONLY | NI_O_CREAT, 0644, &h), ENOENT);
    CHECK_RC(ni_copyfile("", path, NI_COPY_OVERWRITE), ENOENT);
    CHECK_RC(ni_copyfile(path, "", 0), ENOENT);
    CHECK_RC(ni_copyfile(path, "", NI_COPY_OVERWRITE), ENOENT);
    CHECK_RC(ni_spawn("", g_argv, NULL, NULL, NULL, 0, 0, &p), ENOENT);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, "", NULL, 0, 0, &p), ENOENT); /* chdir("") */
    CHECK(ni_test_file_equals(path, "x", 1));
}

/* Unknown bits in a flag word, an out-of-range enum-like value: EINVAL (or the socket errors the header
   names), before the system is asked. */
static void bad_input_invalid_flags(void)
{
    char path[NI_TEST_PATH_MAX], copy[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_test_path(copy, "copy");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle h;
    ni_process p;
    CHECK_RC(ni_open(path, 0x40000000, 0, &h), EINVAL);
    CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_RDWR, 0, &h), EINVAL);
    CHECK_RC(ni_open(path, NI_O_RDONLY, 010000, &h), EINVAL); /* a mode beyond 07777 */
    CHECK_RC(ni_socket(99, NI_SOCK_STREAM, 0, &h), EAFNOSUPPORT);
    CHECK_RC(ni_socket(NI_AF_INET, 99, 0, &h), EPROTOTYPE);
    CHECK_RC(ni_socket(NI_AF_INET, NI_SOCK_STREAM, -1, &h), EPROTONOSUPPORT);
    CHECK_RC(ni_copyfile(path, copy, 0x100), EINVAL);
    CHECK_RC(ni_copyfile_ex(path, copy, -1, NULL, NULL), EINVAL);
    CHECK_RC(ni_set_inheritable(0, 2), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, NULL, 0, 0x1000, &p), EINVAL);
    ni_fd_mapping twice[] = { { 0, 5 }, { 1, 5 } };
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, twice, 2, 0, &p), EINVAL);
    struct stat st;
    CHECK(stat(copy, &st) != 0); /* nothing was copied */
}

/* A descriptor that was open and is closed now (and one that never was): EBADF from every call on it. */
static void bad_input_closed_handle(void)
{
    ni_handle r, w, h;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_OK(ni_close(r));
    CHECK_OK(ni_close(w));
    const ni_handle closed[] = { r, NI_TEST_BAD_HANDLE, NI_INVALID_HANDLE };
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++)
    {
        ni_handle c = closed[i];
        int32_t value;
        char text[32];
        CHECK_RC(ni_close(c), EBADF);
        CHECK_RC(ni_dup(c, &h), EBADF);
        CHECK_RC(ni_get_inheritable(c, &value), EBADF);
        CHECK_RC(ni_set_inheritable(c, 0), EBADF);
        CHECK_RC(ni_preallocate(c, 10), EBADF);
        CHECK_RC(ni_accept(c, NULL, NULL, &h), EBADF);
        CHECK_RC(ni_describe(c, text, sizeof text, &value), EBADF);
        ni_fd_mapping m = { c, 3 };
        ni_process p;
        CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, &m, 1, 0, &p), EBADF);
    }
}

/* A descriptor of the wrong kind: accept on a file or a pipe (ENOTSOCK), on a socket that does not listen
   (EINVAL); preallocate on a pipe or a socket (the kernel's answer); copy a directory (EISDIR). */
static void bad_input_wrong_kind(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    ni_handle file, r, w, s, h;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR, 0, &file)) || !CHECK_OK(ni_pipe(&r, &w)))
        return;
    if (CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &s)))
    {
        CHECK_RC(ni_accept(file, NULL, NULL, &h), ENOTSOCK);
        CHECK_RC(ni_accept(r, NULL, NULL, &h), ENOTSOCK);
        CHECK_RC(ni_accept(s, NULL, NULL, &h), EINVAL); /* not listening */
#ifdef __linux__
        CHECK_RC(ni_preallocate(r, 10), EBADF);  /* fallocate needs a descriptor open for writing */
        CHECK_RC(ni_preallocate(w, 10), ESPIPE);
        CHECK_RC(ni_preallocate(s, 10), ENODEV);
#endif
        ni_close(s);
    }
    /* Inheritance works on any kind of descriptor: nothing to refuse. */
    int32_t value;
    CHECK_OK(ni_get_inheritable(r, &value));
    CHECK_INT(value, 0);
    ni_close(file);
    ni_close(r);
    ni_close(w);
}

/* A directory where a file is expected and a file where a directory is expected. */
static void bad_input_directory_or_file(void)
{
    char dir[NI_TEST_PATH_MAX], file[NI_TEST_PATH_MAX], below_file[NI_TEST_PATH_MAX], copy[NI_TEST_PATH_MAX];
    ni_test_path(dir, "dir");
    ni_test_path(file, "file");
    ni_test_path(copy, "copy");
    CHECK(snprintf(below_file, sizeof below_file, "%s/x", file) < (int)sizeof below_file);
    CHECK_INT(mkdir(dir, 0755), 0);
    CHECK_OK(ni_test_write_file(file, "x", 1, 0644));
    ni_handle h;
    ni_process p;
    CHECK_RC(ni_open(dir, NI_O_WRONLY, 0, &h), EISDIR);
    CHECK_RC(ni_open(dir, NI_O_RDONLY | NI_O_NOTDIR, 0, &h), EISDIR);
    CHECK_RC(ni_open(below_file, NI_O_RDONLY, 0, &h), ENOTDIR);
    CHECK_RC(ni_open(below_file, NI_O_WRONLY | NI_O_CREAT, 0644, &h), ENOTDIR);
    CHECK_RC(ni_copyfile(dir, copy, 0), EISDIR);
    CHECK_RC(ni_copyfile(file, dir, 0), EEXIST);
    CHECK_RC(ni_copyfile(file, dir, NI_COPY_OVERWRITE), EISDIR);
    CHECK_RC(ni_copyfile(file, below_file, 0), ENOTDIR);
    CHECK_RC(ni_spawn(dir, g_argv, NULL, NULL, NULL, 0, 0, &p), EACCES);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, file, NULL, 0, 0, &p), ENOTDIR);
    struct stat st;
    CHECK(stat(copy, &st) != 0);
    CHECK(ni_test_file_equals(file, "x", 1));
}

/* A path that does not exist (or whose directory does not): ENOENT, nothing created. */
static void bad_input_missing_path(void)
{
    char missing[NI_TEST_PATH_MAX], in_missing[NI_TEST_PATH_MAX], file[NI_TEST_PATH_MAX];
    ni_test_path(missing, "missing");
    ni_test_path(file, "file");
    CHECK(snprintf(in_missing, sizeof in_missing, "%s/x", missing) < (int)sizeof in_missing);
    CHECK_OK(ni_test_write_file(file, "x", 1, 0644));
    ni_handle h;
    ni_process p;
    CHECK_RC(ni_open(missing, NI_O_RDONLY, 0, &h), ENOENT);
    CHECK_RC(ni_open(in_missing, NI_O_WRONLY | NI_O_CREAT, 0644, &h), ENOENT);
    CHECK_RC(ni_copyfile(missing, file, NI_COPY_OVERWRITE), ENOENT);
    CHECK_RC(ni_copyfile(file, in_missing, 0), ENOENT);
    CHECK_RC(ni_copyfile(file, in_missing, NI_COPY_OVERWRITE), ENOENT);
    CHECK_RC(ni_spawn(missing, g_argv, NULL, NULL, NULL, 0, 0, &p), ENOENT);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, missing, NULL, 0, 0, &p), ENOENT);
    CHECK(ni_test_file_equals(file, "x", 1));
    struct stat st;
    CHECK(stat(missing, &st) != 0);
}

/* Negative sizes and counts: EINVAL. */
static void bad_input_negative_size(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_handle h;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    int32_t value, length = -1;
    char text[16];
    ni_handle_info infos[2];
    ni_process p;
    CHECK_RC(ni_preallocate(h, -1), EINVAL);
    CHECK_RC(ni_preallocate(h, INT64_MIN), EINVAL);
    CHECK_RC(ni_error_message(ENOENT, text, 0), EINVAL);
    CHECK_RC(ni_error_message(ENOENT, text, -1), EINVAL);
    CHECK_RC(ni_list_handles(infos, -1, &value), EINVAL);
    CHECK_RC(ni_describe(h, text, 0, &value), EINVAL);
    CHECK_RC(ni_describe(h, text, -5, &value), EINVAL);
    CHECK_RC(ni_seal(NULL, -1, &value), EINVAL);
    CHECK_RC(ni_accept(h, text, &length, &h), EINVAL);
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, NULL, -1, 0, &p), EINVAL);
    ni_fd_mapping negative = { h, -7 };
    CHECK_RC(ni_spawn("/bin/sh", g_argv, NULL, NULL, &negative, 1, 0, &p), EINVAL);
    int32_t exited, code;
    p.pid = 1;
    p.handle = NI_INVALID_HANDLE;
    CHECK_RC(ni_wait(&p, -2, &exited, &code), EINVAL);
    CHECK_RC(ni_wait_for_exit(&p, -2, &exited), EINVAL);
    CHECK_RC(ni_kill(&p, -1), EINVAL);
    p.pid = -5;
    CHECK_RC(ni_wait(&p, 0, &exited, &code), EINVAL);
    CHECK_RC(ni_wait_for_exit(&p, 0, &exited), EINVAL);
    CHECK_RC(ni_kill(&p, 0), EINVAL); /* never kill(-5): a process group */
    CHECK_OK(ni_close(h));
}

#endif

#ifdef __linux__
/*
 * No permission, although the tests run as root: this thread's file-system identity becomes nobody
 * (setfsuid/setfsgid change the calling thread only, and drop CAP_DAC_OVERRIDE with it), so the kernel
 * checks permission bits as it would for an ordinary user. Then two refusals that hold even for root: a
 * file without execute bits cannot be executed, and a read-only sysctl cannot be opened for writing.
 */
static void bad_input_no_permission(void)
{
    char dir[NI_TEST_PATH_MAX], secret[NI_TEST_PATH_MAX], closed_dir[NI_TEST_PATH_MAX], in_closed[NI_TEST_PATH_MAX], copy[NI_TEST_PATH_MAX], script[NI_TEST_PATH_MAX];
    ni_test_path(dir, "");
    ni_test_path(secret, "secret");
    ni_test_path(closed_dir, "closed");
    ni_test_path(copy, "copy");
    ni_test_path(script, "script");
    CHECK(snprintf(in_closed, sizeof in_closed, "%s/new", closed_dir) < (int)sizeof in_closed);
    CHECK_OK(ni_test_write_file(secret, "secret", 6, 0600));
    CHECK_OK(ni_test_write_file(script, "#!/bin/sh\nexit 0\n", 17, 0644));
    CHECK_INT(mkdir(closed_dir, 0755), 0);
    struct stat st;
    CHECK_INT(stat(dir, &st), 0);
    CHECK_INT(chmod(dir, 0777), 0); /* nobody may create "copy" here, but not in closed_dir, nor read secret */
    ni_handle h;
    ni_process p;

    /* Control: as root, the very same calls work. */
    if (CHECK_OK(ni_open(secret, NI_O_RDONLY, 0, &h)))
        ni_close(h);

    int old_gid = setfsgid(65534), old_uid = setfsuid(65534);
    int as_nobody = setfsuid(65534) == 65534;
    int open_rc = ni_open(secret, NI_O_RDONLY, 0, &h);
    int create_rc = ni_open(in_closed, NI_O_WRONLY | NI_O_CREAT, 0644, &h);
    int copy_from_rc = ni_copyfile(secret, copy, 0);
    int copy_into_rc = ni_copyfile(script, in_closed, 0);
    setfsuid(old_uid);
    setfsgid(old_gid);
    CHECK_INT(setfsuid(old_uid), old_uid); /* back to root */
    CHECK_INT(chmod(dir, st.st_mode & 07777), 0);
    if (!CHECK(as_nobody))
        return;
    CHECK_RC(open_rc, EACCES);
    CHECK_RC(create_rc, EACCES);
    CHECK_RC(copy_from_rc, EACCES);
    CHECK_RC(copy_into_rc, EACCES);
    CHECK(stat(copy, &st) != 0);
    CHECK(stat(in_closed, &st) != 0);

    /* Refused to root as well. */
    CHECK_RC(ni_spawn(script, g_argv, NULL, NULL, NULL, 0, 0, &p), EACCES);
    CHECK_RC(ni_open("/proc/sys/kernel/ngroups_max", NI_O_WRONLY, 0, &h), EACCES);
}
#endif

NI_TEST_MAIN(
    NI_TEST(error_kind_maps),
    NI_TEST(error_message),
    NI_TEST(capabilities),
    NI_TEST_POSIX(bad_input_null),
    NI_TEST_POSIX(bad_input_empty_string),
    NI_TEST_POSIX(bad_input_invalid_flags),
    NI_TEST_POSIX(bad_input_closed_handle),
    NI_TEST_POSIX(bad_input_wrong_kind),
    NI_TEST_POSIX(bad_input_directory_or_file),
    NI_TEST_POSIX(bad_input_missing_path),
    NI_TEST_POSIX(bad_input_negative_size),
    NI_TEST_LINUX(bad_input_no_permission))
