/*
 * The native tests' framework, one API for every platform, so that a test file serves them all and says
 * only where the results really differ. ni_test.c holds the checks and the runner, ni_test_files.c the
 * temp dir and files, ni_test_child.c what a child sees; what needs the platform is in ni_test_posix.c
 * and ni_test_windows.c, and how a handle is described (the same text here and in the child) in
 * ni_describe.c.
 *
 * The child that proves inheritance: ni_fdlist on POSIX lists every descriptor it holds, ni_handleprobe
 * on Windows describes the handle values it is given; both print "<value> <description>" lines.
 */
#ifndef NI_TEST_H
#define NI_TEST_H

#include "noinherit.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef _WIN32
#  include <winsock2.h>
#  include <ws2tcpip.h>
#  include <windows.h>
#  define NI_TEST_PATH_MAX 4096 /* MAX_PATH is too small for the long-path tests */
#  define NI_TEST_SEPARATOR "\\"
/* The POSIX signal numbers that ni_kill and friends take on Windows too (see noinherit.h for what each does there). */
#  define SIGINT 2
#  define SIGKILL 9
#  define SIGTERM 15
#  ifndef ERROR_NOTHING_TO_TERMINATE
#    define ERROR_NOTHING_TO_TERMINATE 758L /* missing from MinGW's headers */
#  endif
#else
#  include <arpa/inet.h>
#  include <netinet/in.h>
#  include <sys/socket.h>
#  include <unistd.h>
#  define NI_TEST_PATH_MAX PATH_MAX
#  define NI_TEST_SEPARATOR "/"
#endif

/* ---- Expected codes: the platform's own, as the library returns them ---- */

/* The POSIX code or the Windows one. The other is never evaluated, so it need not exist here. */
#ifdef _WIN32
#  define NI_TEST_CODE(posix, windows) (windows)
#else
#  define NI_TEST_CODE(posix, windows) (posix)
#endif
#define NI_TEST_EINVAL NI_TEST_CODE(EINVAL, ERROR_INVALID_PARAMETER)
#define NI_TEST_EBADF NI_TEST_CODE(EBADF, ERROR_INVALID_HANDLE)
#define NI_TEST_ENOENT NI_TEST_CODE(ENOENT, ERROR_FILE_NOT_FOUND)
#define NI_TEST_EEXIST NI_TEST_CODE(EEXIST, ERROR_FILE_EXISTS)
/* Socket calls: Winsock's codes are the BSD names with a WSA prefix (WSAEINVAL for EINVAL). */
#define NI_TEST_WSA(name) NI_TEST_CODE(name, WSA##name)

/* A descriptor number / handle value that is never open: every call on it fails. */
#define NI_TEST_BAD_HANDLE ((ni_handle)0x7ffffff0)

/* The exit code of a run in which something was skipped and nothing failed (CTest SKIP_RETURN_CODE). */
#define NI_TEST_SKIPPED 77

/* ---- Checks ---- */

/* Each check returns 1 when it holds, so a test can stop early: if (!CHECK_OK(...)) return; */
#define CHECK(cond) ni_test_check(!!(cond), __FILE__, __LINE__, #cond)
#define CHECK_INT(actual, expected) \
    ni_test_check_int((long long)(actual), (long long)(expected), __FILE__, __LINE__, #actual, #expected)
/* For the library's error codes: prints both with their platform message on failure. */
#define CHECK_RC(call, expected) ni_test_check_rc((int)(call), (int)(expected), __FILE__, __LINE__, #call)
#define CHECK_OK(call) CHECK_RC(call, 0)

int ni_test_check(int ok, const char* file, int line, const char* text);
int ni_test_check_int(long long actual, long long expected, const char* file, int line,
                      const char* actual_text, const char* expected_text);
int ni_test_check_rc(int actual, int expected, const char* file, int line, const char* text);
/* Records a failure with a printf-style message. */
void ni_test_fail(const char* file, int line, const char* format, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Skips the check it stands for, saying why. A case that skipped anything and failed nothing ends
   as skipped (NI_TEST_SKIPPED), never as passed. */
void ni_test_skip(const char* why);

/* ---- The cases and the runner ---- */

struct ni_test_case
{
    const char* name; /* NULL: a case of another platform, left out here */
    void (*run)(void);
};

/*
 * The entries of NI_TEST_MAIN. NI_TEST runs everywhere; the others only where their platform is, and
 * their functions are defined under the same condition (#ifndef _WIN32, #ifdef __linux__, #ifdef _WIN32).
 * tests/native/CMakeLists.txt reads these entries to make one CTest test per case, and builds a file only
 * for a platform that has cases in it.
 */
#define NI_TEST(fn) { #fn, fn }
#define NI_TEST_ABSENT { NULL, NULL }
#ifdef _WIN32
#  define NI_TEST_WINDOWS(fn) NI_TEST(fn)
#  define NI_TEST_POSIX(fn) NI_TEST_ABSENT
#else
#  define NI_TEST_WINDOWS(fn) NI_TEST_ABSENT
#  define NI_TEST_POSIX(fn) NI_TEST(fn)
#endif
#ifdef __linux__
#  define NI_TEST_LINUX(fn) NI_TEST(fn)
#else
#  define NI_TEST_LINUX(fn) NI_TEST_ABSENT
#endif

/*
 * argv: <child> [<case> [<emulator> [<emulator args>...]]]. <child> is the program that reports what
 * it inherited (ni_fdlist / ni_handleprobe.exe); <case> runs that case only; an emulator (POSIX:
 * qemu-user, which cannot exec a foreign binary by itself) is put in front of the child. Every case
 * runs in an empty temp dir and must not leak descriptors or handles.
 * With NI_TEST_ROLE in the environment the program is a child of a test instead (ni_test_role).
 */
int ni_test_main(int argc, char** argv, const struct ni_test_case* cases, size_t count);
#define NI_TEST_MAIN(...)                                                              \
    int main(int argc, char** argv)                                                    \
    {                                                                                  \
        static const struct ni_test_case cases[] = { __VA_ARGS__ };                    \
        return ni_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);        \
    }

/*
 * The roles a test program plays as a child (NI_TEST_ROLE=<role>), returning its exit code:
 *   exit N   exits with N
 *   wait     reads its standard input to the end, then exits 0
 *   argv     prints its arguments "[a][b]...", as the platform splits them (Windows: CommandLineToArgvW), UTF-8
 *   env      Windows: prints the names of its environment block in their order, "[A][b]..."
 *   accept   POSIX: accepts one connection on the listening fd 3, sends "accepted"
 *   sleep N  Windows: sleeps N milliseconds (60 s without N), then exits 0
 */
int ni_test_role(const char* role, int argc, char** argv);

/* A test file's own roles, which need the library or that file's code (the framework's do not): taken before
   main, by a constructor. NI_TEST_ROLES({ "parent", parent_role }, ...) runs the one named by NI_TEST_ROLE and
   exits with what it returns. */
struct ni_test_file_role
{
    const char* name;
    int (*run)(void);
};
void ni_test_take_role(const struct ni_test_file_role* roles, size_t count);
#define NI_TEST_ROLES(...)                                                             \
    __attribute__((constructor)) static void ni_test_take_this_files_roles(void)       \
    {                                                                                  \
        static const struct ni_test_file_role roles[] = { __VA_ARGS__ };               \
        ni_test_take_role(roles, sizeof roles / sizeof roles[0]);                      \
    }

/* ---- The temp dir and files (ni_test_files.c) ---- */

/* `out` = <temp dir><separator><name>; the temp dir is a real path (no symlink). */
void ni_test_path(char out[NI_TEST_PATH_MAX], const char* name);
/* `out` = <dir><separator><name>. */
void ni_test_path_in(char out[NI_TEST_PATH_MAX], const char* dir, const char* name);
/* Makes the directory <temp dir>/<name> into `out`; a check fails if it cannot. */
void ni_test_make_dir(char out[NI_TEST_PATH_MAX], const char* name);

/* Makes `levels` nested directories of 60 characters each in the temp dir: `out` is the deepest, ending
   in a separator. Six are far beyond Windows' MAX_PATH (260). */
void ni_test_make_deep_dir(char out[NI_TEST_PATH_MAX], int levels);

/* The paths of a copy: a directory of its own in the temp dir (so that its entries can be counted), made
   here, and in it the source <src_name> and the destination "dst". */
struct ni_test_copy
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
};
void ni_test_copy_paths(struct ni_test_copy* c, const char* dir_name, const char* src_name);

/* Creates or replaces `path` with exactly `size` bytes and, on POSIX, exactly `mode` (umask ignored).
   0 or nonzero (errno where there is one). */
int ni_test_write_file(const char* path, const void* data, size_t size, int mode);
/* The whole content (read to EOF, so /proc files work) in a malloc'd buffer, NUL-terminated, or NULL. */
char* ni_test_read_file(const char* path, size_t* size);
/* The same for what is left in a stream (a child's output). */
char* ni_test_read_stream(FILE* f, size_t* size);
/* 1 if the file at `path` holds exactly these bytes. */
int ni_test_file_equals(const char* path, const void* data, size_t size);
/* 1 if both files can be read and hold the same bytes. */
int ni_test_same_content(const char* a, const char* b);
/* Reproducible bytes that are not all alike (xorshift), the same for the same seed. */
void ni_test_fill(char* data, size_t size, uint64_t seed);
/* Replaces `path` with `size` bytes of ni_test_fill(seed); 1 if it worked. */
int ni_test_make_file(const char* path, size_t size, uint64_t seed);

/* A progress callback for ni_copyfile_ex (ni_test_record) that keeps every value it is given, cancels
   at the first call with copied >= cancel_at (-1: never) and calls `hook`, if any, at every call. */
struct ni_test_recorder
{
    int64_t values[8192];
    int count;
    int64_t cancel_at;
    void (*hook)(struct ni_test_recorder* r, int64_t copied);
    void* hook_state;
};
struct ni_test_recorder* ni_test_new_recorder(void); /* calloc'd; NULL (after a failed check) */
int32_t ni_test_record(int64_t copied, void* recorder);
/* The values start at 0, grow strictly and end at `size`; a check fails where they do not. */
int ni_test_progress_is_sound(const struct ni_test_recorder* r, int64_t size);

/* The platform's file-system primitives (ni_test_posix.c, ni_test_windows.c). */
int ni_test_mkdir(const char* path);      /* 0 or the error */
int ni_test_remove(const char* path);     /* a file (or a symlink): 0 or the error */
int ni_test_exists(const char* path);     /* anything, a dangling symlink too */
long long ni_test_file_size(const char* path); /* -1 if there is nothing */
/* The entries of `dir` whose name starts with `prefix` ("" for all), or -1. */
int ni_test_count_entries(const char* dir, const char* prefix);
/* Whether `path` is open: in this process (POSIX), by anyone (Windows, where a share-nothing open
   then fails). */
int ni_test_file_is_open(const char* path);
#ifndef _WIN32
/* The permission bits of `path` (07777), or -1. */
int ni_test_file_mode(const char* path);
#endif
/* Removes everything in `dir`, and `dir` itself if `remove_dir`. */
void ni_test_clean_dir(const char* dir, int remove_dir);
/* Opens a file that no child can inherit: "rb", or "wb" creating it with `mode` where that exists. */
FILE* ni_test_fopen(const char* path, const char* how, int mode);

/* ---- Handles ---- */

/* Socket calls take the handle as the platform's socket type. */
#ifdef _WIN32
#  define NI_TEST_SOCKET(h) ((SOCKET)(h))
#else
#  define NI_TEST_SOCKET(h) ((int)(h))
#endif
/* The error of the last failed socket call (errno, WSAGetLastError). */
int ni_test_socket_error(void);

/* The bytes written / read, or minus the platform's error; reading gives 0 at the end (a pipe whose
   writers are gone, too). */
long long ni_test_write(ni_handle h, const void* data, size_t size);
long long ni_test_read(ni_handle h, void* data, size_t size);
/* The new position (whence: SEEK_SET, SEEK_CUR, SEEK_END), or minus the error. */
long long ni_test_seek(ni_handle h, long long offset, int whence);
/* Everything readable from a pipe until its end, waiting at most timeout_ms for more each time (then
   *timed_out = 1); malloc'd, NUL-terminated. */
char* ni_test_read_all(ni_handle h, int timeout_ms, int* timed_out);
/* What is read from a pipe until `want` turns up in it, its end, or timeout_ms pass with nothing to read (then
   *timed_out = 1); malloc'd, NUL-terminated. */
char* ni_test_read_until(ni_handle h, const char* want, int timeout_ms, int* timed_out);
/* Blocking or not (FIONBIO, O_NONBLOCK); 1 if it worked. */
int ni_test_set_nonblocking(ni_handle h, int on);

/* 1 if `h` is inheritable (no FD_CLOEXEC / HANDLE_FLAG_INHERIT), 0 if not, -1 if it is no handle. Asked
   of the system, not of the library. */
int ni_test_inherit_flag(ni_handle h);
/* Makes `h` inheritable without the library (fcntl / SetHandleInformation); 1 if it worked. */
int ni_test_make_inheritable(ni_handle h);

/* Inheritable on purpose and made without the library, as other code makes them: the controls that
   show a child could see a handle. NI_INVALID_HANDLE (or 0) on failure. Close them with ni_close. */
ni_handle ni_test_plain_file(const char* path); /* read and write, created if missing */
int ni_test_plain_pipe(ni_handle* read_end, ni_handle* write_end);
ni_handle ni_test_plain_dup(ni_handle h);

/* The number of descriptors / handles open in this process, or -1. */
int ni_test_count_handles(void);
/* This process's handles, up to `capacity` of them into `out`; how many there are, or -1. */
int ni_test_list_handles(ni_handle* out, int capacity);
/* This process's handles on files in `dir` (by their description), but `except`; how many, or -1. */
int ni_test_handles_in(const char* dir, ni_handle except, ni_handle* out, int capacity);

/* ---- Sockets on 127.0.0.1 (ni_test_child.c) ---- */

struct sockaddr_in ni_test_loopback(int port);
/* The socket's local port, or -1. */
int ni_test_local_port(ni_handle s);
/* Binds `s` to 127.0.0.1 and an ephemeral port: the port, or -1. */
int ni_test_bind_loopback(ni_handle s);
/* A listener from ni_socket on 127.0.0.1 and an ephemeral port; 0 or the error. */
int ni_test_listen_loopback(ni_handle* listener, int* port);
/* A connected client socket from ni_socket (not inheritable), or NI_INVALID_HANDLE. */
ni_handle ni_test_connect_loopback(int port);

/* ---- What a child holds (ni_test_child.c, with the platform's probe) ---- */

/*
 * What a handle value is, the same text in this process and in the child, so that equal text means
 * the same object: "-" (no such handle) or, on POSIX, its /proc/self/fd target ("/tmp/x",
 * "pipe:[123]", "socket:[456]"); on Windows "disk <final path>", "pipe <bytes readable>",
 * "socket <local address>", "char" or "other".
 */
void ni_test_describe_handle(ni_handle handle, char* out, size_t size);
#define NI_TEST_DESCRIPTION_MAX (NI_TEST_PATH_MAX * 3 + 64)

/*
 * Starts the child (CreateProcessW(bInheritHandles=TRUE) of the probe, or fork + exec of the checker)
 * and returns its output, "<value> <description>" per line, malloc'd; NULL (after a failed check) if it
 * could not run. The probe describes `handles`; the checker lists every descriptor it has.
 */
char* ni_test_probe(const ni_handle* handles, size_t count);
/* Whether `output` has a line for `value` (any if NI_INVALID_HANDLE) with `description` (any if NULL). */
int ni_test_probe_has(const char* output, ni_handle value, const char* description);
/* The number of lines of `output`. */
int ni_test_probe_lines(const char* output);
/* Whether the child's `output` shows `h` as the very object this process has under that value. */
int ni_test_probe_holds(const char* output, ni_handle h);
/* Shorthand: whether a child started now holds `h`. */
int ni_test_child_sees(ni_handle h);

/* One child: `ours` must be absent from it and `control`, inheritable on purpose, present, or the check
   itself is blind. Both must be open here. */
#define CHECK_NOT_INHERITED(ours, control) ni_test_check_inheritance(__FILE__, __LINE__, (ours), (control))
int ni_test_check_inheritance(const char* file, int line, ni_handle ours, ni_handle control);

/* ---- Starting children of one's own ---- */

#define NI_TEST_MAX_ARGS 32
/* This test program's path. */
const char* ni_test_self(void);
/* [emulator..., program, extra..., NULL], program NULL meaning the checker / probe. */
void ni_test_command_line(const char* program, const char* const* extra, const char* out[NI_TEST_MAX_ARGS]);
/* A monotonic clock in milliseconds. */
long long ni_test_now_ms(void);

/* ---- Children of this test program in a role (ni_test_spawn.c) ---- */

/* How long a finished child is waited for: POSIX blocks in waitpid, wine's children get a bound. */
#define NI_TEST_WAIT_MS NI_TEST_CODE(-1, 30000)
/* The environment of a child that plays `role` (wine needs SystemRoot in any environment block); a static
   array, good until the next call. */
const char* const* ni_test_role_env(const char* role);
/* Runs argv[0] with stdout mapped to a new pipe (then the `extra` mappings, at most 15) and `flags`: its output
   (malloc'd) and *exit_code, the child waited for and closed; NULL (after a failed check) if it did not start. */
char* ni_test_run(const char* const* argv, const char* const* envp, const char* cwd, const ni_fd_mapping* extra,
                  int32_t extra_count, int32_t flags, int32_t* exit_code);
/* Starts this program in `role` with `args` and `flags`, its stdin `in` (if not NI_INVALID_HANDLE): ni_spawn's
   result. */
int32_t ni_test_start_role(const char* role, const char* const* args, ni_handle in, int32_t flags, ni_process* process);
/* Starts this program in `role` with `args` and `flags`, its stdout a new pipe whose read end goes to *out; 1 if it
   started (after a failed check if not). */
int ni_test_start_reporting(const char* role, const char* const* args, int32_t flags, ni_handle* out,
                            ni_process* process);
/* The first line of `out` (waiting up to 10 s, a check fails if it does not come), malloc'd, with no \r (the one
   text-mode stdout writes on Windows). */
char* ni_test_first_line(ni_handle out);
#ifndef _WIN32
/* Whether this process has no child left, exited or not (waitpid(-1, WNOHANG) says ECHILD). */
int ni_test_no_children_left(void);
#else
/*
 * What the library keeps for the life of the process (the helper process and the job that ends it; with
 * NI_SPAWN_KILL_ON_PARENT_EXIT, that flag's job) exists from the first spawn that needs it on: made before the
 * first case by one spawn with a mapped pipe and `flags`, so that its handles count as no case's leak. Call it
 * from a constructor (NI_TEST_WARM_UP); it does nothing in a child's role.
 */
void ni_test_warm_up(int32_t flags);
/* A handle of the test's own on process `pid` (to wait for it, and to end what a failed test left), or NULL. */
HANDLE ni_test_open_pid(long long pid);
/* Ends a process opened so, if it still runs, and closes the handle (NULL: nothing). */
void ni_test_end_process(HANDLE process);
#  define NI_TEST_WARM_UP(flags) \
      __attribute__((constructor)) static void ni_test_warm_up_here(void) { ni_test_warm_up(flags); }
#endif

/* ---- POSIX (Linux): processes seen through /proc/<pid>/stat ---- */

#ifndef _WIN32
struct ni_test_proc
{
    char state;     /* R, S, T, Z... */
    int parent;     /* ppid */
    int group;      /* pgrp */
    int session;    /* sid */
    int tty;        /* tty_nr: the controlling terminal's device number, 0 for none */
    int foreground; /* tpgid: the terminal's foreground group, -1 without a terminal */
};
/* 1 with *proc filled if process `pid` exists (a zombie too), else 0. */
int ni_test_proc_stat(int pid, struct ni_test_proc* proc);
/* Whether `pid` is a live process: it exists and is no zombie. */
int ni_test_alive(int pid);
/* Waits up to timeout_ms for `pid` to be gone or a zombie (looking every millisecond or so): 1 if it is. */
int ni_test_wait_gone(int pid, int timeout_ms);
/* The descriptors numbered from `lowest` up to our descriptor limit that process `pid` holds (/proc/<pid>/fd), or -1.
   Not above the limit: under valgrind a child that has not finished execve still holds valgrind's own there. */
int ni_test_descriptors_of(int pid, int lowest);
/* Whether a child started by clone(CLONE_VM | CLONE_VFORK | CLONE_FILES) really shares our memory (not under
   qemu-user or valgrind, which run it as a fork or refuse it): then ni_spawn's child starts on our descriptor
   table and reports through our memory, with no report pipe. Asked here the test's own way, in a forked child. */
int ni_test_child_shares_descriptors(void);
#endif

/* ---- POSIX: injected faults, a seccomp filter (Linux) in a forked child ---- */

#ifndef _WIN32
/* One injected fault: system call `nr` fails with `error` (NI_TEST_FAULT_KILL: the process is killed
   instead, for a call that must not happen); with arg >= 0, only when that argument's low 32 bits have a
   bit of `mask` set. */
struct ni_test_fault { long nr; int arg; uint32_t mask; int error; };
#define NI_TEST_FAULT_KILL (-1)
#define NI_TEST_SKIP_NO_SECCOMP "seccomp fault injection is not available here (an emulator, or no seccomp)"
/* Installs the filter in this process (for good); 1 if it works (a canary call fails as injected), 0 if
   it cannot be had here (not Linux, an emulator, no seccomp). */
int ni_test_inject(const struct ni_test_fault* faults, size_t count);
/* Runs `body` in a forked child under the faults (none: count 0). The child's checks print their own
   failures; the result is the body's (1 passed, 0 failed), or -1 if the faults cannot be had here. */
int ni_test_run_injected(const struct ni_test_fault* faults, size_t count, int (*body)(void*), void* arg);
#endif

/* ---- The platform part, used by the runner ---- */

/* Remembers this program (argv[0]) and the child (and emulator), sets up the process and creates the
   temp dir into `dir`. */
int ni_test_platform_start(const char* self, const char* child, char** emulator, char dir[NI_TEST_PATH_MAX]);
/* The platform's roles (ni_test_role); -1 for a role it does not have. */
int ni_test_platform_role(const char* role, int argc, char** argv);
/* The child that ni_test_platform_start remembered, after its emulator if any: [emulator..., checker,
   NULL] on POSIX, [probe, NULL] on Windows. */
char* const* ni_test_child_argv(void);

#ifdef _WIN32
/* Whether this runs under wine (ntdll exports wine_get_version): for the skips that name what wine lacks. */
int ni_test_wine(void);
/* "[<text>]" in UTF-8 to standard output (ni_describe.c). */
void ni_test_print_bracketed(const wchar_t* text, size_t length);
/* Prints this process's arguments from `first` on, bracketed, as CommandLineToArgvW splits them; 0 or
   the exit code of a failure. */
int ni_test_print_arguments(int first);
/* UTF-8 -> UTF-16 (malloc'd, NULL on failure); absolute paths get the \\?\ prefix so that they work
   at any length, and '/' becomes '\'. */
wchar_t* ni_test_wide_path(const char* utf8);
#endif

#endif
