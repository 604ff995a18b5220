/*
 * The native tests' framework. ni_test.c is the portable part: checks, the runner, the temp dir and
 * file helpers. What a real child inherited, and how many handles are open, needs the platform:
 * ni_test_posix.c (fork + exec of ni_fdlist, /proc/self/fd) and windows/ni_test_windows.c
 * (CreateProcessW of windows/ni_handleprobe.exe, GetHandleInformation).
 */
#ifndef NI_TEST_H
#define NI_TEST_H

#include "noinherit.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>

#ifdef _WIN32
#  define NI_TEST_PATH_MAX 4096 /* MAX_PATH is too small for the long-path tests */
#else
#  define NI_TEST_PATH_MAX PATH_MAX
#endif

/* A descriptor number / handle value that is never open: every call on it fails. */
#define NI_TEST_BAD_HANDLE ((ni_handle)0x7ffffff0)

/* The exit code of a run in which something was skipped and nothing failed (CTest SKIP_RETURN_CODE). */
#define NI_TEST_SKIPPED 77

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

struct ni_test_case
{
    const char* name;
    void (*run)(void);
};
#define NI_TEST(fn) { #fn, fn }

/*
 * argv: <child> [<case> [<emulator> [<emulator args>...]]]. <child> is the program that reports what
 * it inherited (ni_fdlist / ni_handleprobe.exe); <case> runs that case only; an emulator (POSIX:
 * qemu-user, which cannot exec a foreign binary by itself) is put in front of the child. Every case
 * runs in an empty temp dir and must not leak descriptors or handles.
 */
int ni_test_main(int argc, char** argv, const struct ni_test_case* cases, size_t count);
#define NI_TEST_MAIN(...)                                                              \
    int main(int argc, char** argv)                                                    \
    {                                                                                  \
        static const struct ni_test_case cases[] = { __VA_ARGS__ };                    \
        return ni_test_main(argc, argv, cases, sizeof cases / sizeof cases[0]);        \
    }

/* `out` = <temp dir><separator><name>; the temp dir is a real path (no symlink). */
void ni_test_path(char out[NI_TEST_PATH_MAX], const char* name);

/* Creates or replaces `path` with exactly `size` bytes and, on POSIX, exactly `mode` (umask ignored).
   0 or nonzero (errno where there is one). */
int ni_test_write_file(const char* path, const void* data, size_t size, int mode);
/* The whole content (read to EOF, so /proc files work) in a malloc'd buffer, NUL-terminated, or NULL. */
char* ni_test_read_file(const char* path, size_t* size);
/* The same for what is left in a stream (a child's output). */
char* ni_test_read_stream(FILE* f, size_t* size);
/* 1 if the file at `path` holds exactly these bytes. */
int ni_test_file_equals(const char* path, const void* data, size_t size);

/* The number of descriptors / handles open in this process, or -1. */
int ni_test_count_handles(void);

/* ---- The platform part, implemented once per platform and used by the runner above. ---- */

/* Remembers the child (and emulator), sets up the process and creates the temp dir into `dir`. */
int ni_test_platform_start(const char* child, char** emulator, char dir[NI_TEST_PATH_MAX]);
/* Removes everything in `dir`, and `dir` itself if `remove_dir`. */
void ni_test_clean_dir(const char* dir, int remove_dir);
/* Opens a file that no child can inherit: "rb", or "wb" creating it with `mode` where that exists. */
FILE* ni_test_fopen(const char* path, const char* how, int mode);

#ifdef _WIN32
/* ---- Windows: the probe child (ni_handleprobe.exe) ---- */

/*
 * What a handle value is, the same text in this process and in the probe, so that equal text means
 * the same object: "-" (no such handle), "disk <final path>", "pipe <bytes readable>",
 * "socket <local address>", "char" or "other".
 */
void ni_test_describe_handle(ni_handle handle, char* out, size_t size);

/*
 * Starts the probe with CreateProcessW(bInheritHandles=TRUE) and asks it about `handles`. Returns
 * its output, "<handle> <description>" per line, malloc'd; NULL (after a failed check) if it could
 * not run.
 */
char* ni_test_probe(const ni_handle* handles, size_t count);
/* Whether the probe's `output` shows `handle` as the very object this process has under that value. */
int ni_test_probe_holds(const char* output, ni_handle handle);
/* Shorthand: whether a child started now holds `handle`. */
int ni_test_child_sees(ni_handle handle);

/* One probe run: `ours` must be absent from the child and `control`, inheritable on purpose,
   present, or the check itself is blind. */
#define CHECK_NOT_INHERITED(ours, control) \
    ni_test_check_inheritance(__FILE__, __LINE__, (ours), (control))
int ni_test_check_inheritance(const char* file, int line, ni_handle ours, ni_handle control);

/* 1 if `handle` has HANDLE_FLAG_INHERIT, 0 if not, -1 if it is no handle (GetHandleInformation). */
int ni_test_inherit_flag(ni_handle handle);

/* UTF-8 -> UTF-16 (malloc'd, NULL on failure); absolute paths get the \\?\ prefix so that they work
   at any length, and '/' becomes '\'. */
wchar_t* ni_test_wide_path(const char* utf8);
#else
/* ---- POSIX: the checker child (ni_fdlist) and /proc/self/fd ---- */

/*
 * Starts the checker once: `ours` (descriptor and its /proc target) must be absent from the
 * child's list and `control`, made inheritable on purpose, present, or the check itself is blind.
 */
#define CHECK_NOT_INHERITED(ours, ours_target, control, control_target) \
    ni_test_check_inheritance(__FILE__, __LINE__, (int)(ours), (ours_target), (int)(control), (control_target))
int ni_test_check_inheritance(const char* file, int line, int ours, const char* ours_target,
                              int control, const char* control_target);

/* The descriptor of this process whose target is `target`, or -1. */
int ni_test_find_fd(const char* target);
/* "socket:[<inode>]" / "pipe:[<inode>]" built from fstat, i.e. what /proc/<pid>/fd shows. */
void ni_test_inode_target(int fd, char* out, size_t size);

/*
 * Runs the checker as a real child (fork + execv, stdout into a pipe) and returns its output,
 * "<fd> <target>" per line, malloc'd; NULL (after a failed check) if it could not run.
 */
char* ni_test_child_fds(void);
/* Whether `list` has a line for `fd` (any if < 0) with `target` (any if NULL). */
int ni_test_fds_have(const char* list, int fd, const char* target);
/* Shorthand: whether a child started now has `fd` open on `target`. */
int ni_test_child_sees(int fd, const char* target);
/* The checker's command line, NULL-terminated: [emulator, emulator args...,] checker. */
char* const* ni_test_child_argv(void);

/* ---- POSIX (Linux): processes seen through /proc/<pid>/stat ---- */

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

/* ---- POSIX (Linux): injected faults, a seccomp filter in a forked child ---- */

/* One injected fault: system call `nr` fails with `error` (NI_TEST_FAULT_KILL: the process is killed
   instead, for a call that must not happen); with arg >= 0, only when that argument's low 32 bits have a
   bit of `mask` set. */
struct ni_test_fault { long nr; int arg; uint32_t mask; int error; };
#define NI_TEST_FAULT_KILL (-1)
#define NI_TEST_SKIP_NO_SECCOMP "seccomp fault injection is not available here (an emulator, or no seccomp)"
/* Installs the filter in this process (for good); 1 if it works (a canary call fails as injected), 0 if
   it cannot be had here. */
int ni_test_inject(const struct ni_test_fault* faults, size_t count);
/* Runs `body` in a forked child under the faults. The child's checks print their own failures; the
   result is the body's (1 passed, 0 failed), or -1 if the faults cannot be had here. */
int ni_test_run_injected(const struct ni_test_fault* faults, size_t count, int (*body)(void*), void* arg);
#endif

#endif
