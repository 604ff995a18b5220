/* ni_spawn, ni_wait, ni_wait_for_exit, ni_kill, ni_process_close: a child with exactly the handles listed,
   its arguments, environment and exit code. The children are this test program in a role (ni_test_role),
   the checker / probe, and on POSIX /bin/sh. Then the process flags (suspended, groups and sessions, kill on
   parent exit, LISTEN_PID), ni_process_resume, ni_kill_tree and ni_signal_group, with real process trees. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#  include <poll.h>
#  include <pthread.h>
#  include <signal.h>
#  include <sys/resource.h>
#  include <sys/wait.h>
#else
#  define SIGKILL 9 /* what ni_kill takes; Windows terminates whatever the number */
#  define SIGTERM 15
#  ifndef ERROR_NOTHING_TO_TERMINATE
#    define ERROR_NOTHING_TO_TERMINATE 758L /* missing from MinGW's headers */
#  endif
#endif
#ifdef __linux__
#  include <dirent.h>
#  include <sys/ioctl.h>
#  include <sys/prctl.h>
#  include <sys/syscall.h>
#endif

/* How long a finished child is waited for: POSIX blocks in waitpid, wine's children get a bound. */
#define WAIT_MS NI_TEST_CODE(-1, 30000)

/* The environment of a child that plays `role` (wine needs SystemRoot in any environment block). */
static const char* const* role_env(const char* role)
{
    static char variable[64];
    static const char* envp[] = { variable, "SystemRoot=C:\\windows", NULL };
    snprintf(variable, sizeof variable, "NI_TEST_ROLE=%s", role);
    return envp;
}

/* Runs argv[0] with stdout mapped to a new pipe (then `extra` mappings); its output, and its exit code. */
static char* run(const char* const* argv, const char* const* envp, const char* cwd, const ni_fd_mapping* extra,
                 int32_t extra_count, int32_t flags, int32_t* exit_code)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return NULL;
    ni_fd_mapping mappings[16] = { { w, 1 } };
    for (int32_t i = 0; i < extra_count && i < 15; i++)
        mappings[i + 1] = extra[i];
    ni_process process;
    int32_t rc = ni_spawn(argv[0], argv, envp, cwd, mappings, extra_count + 1, flags, &process);
    ni_close(w);
    if (!CHECK_OK(rc))
    {
        ni_close(r);
        return NULL;
    }
    int timed_out;
    char* output = ni_test_read_all(r, 20000, &timed_out);
    CHECK(!timed_out);
    ni_close(r);
    int32_t exited = 0;
    CHECK_OK(ni_wait(&process, WAIT_MS, &exited, exit_code));
    CHECK_INT(exited, 1);
    CHECK_OK(ni_process_close(&process));
    return output;
}

/* Starts this program in `role` with `args`, stdin from `in` (if not NI_INVALID_HANDLE). */
static int32_t start_role(const char* role, const char* const* args, ni_handle in, ni_process* process)
{
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    ni_fd_mapping m[] = { { in, 0 } };
    return ni_spawn(argv[0], argv, role_env(role), NULL, m, in != NI_INVALID_HANDLE, 0, process);
}

static void argv_round_trips(void)
{
    const char* args[] = { "a b", "", "q\"uote", "back\\slash\\", "\\\"", "trail\\\\", "  ", "tab\there", "x\\\\\"y",
                           "'single'", "*", "\xc3\xbcn\xc3\xaf", NULL };
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    int32_t code = -1;
    char* output = run(argv, role_env("argv"), NULL, NULL, 0, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        char expected[1024] = "";
        for (size_t i = 0; args[i] != NULL; i++)
            snprintf(expected + strlen(expected), sizeof expected - strlen(expected), "[%s]", args[i]);
        if (!CHECK(strcmp(output, expected) == 0))
            fprintf(stderr, "got      %s\nexpected %s\n", output, expected);
        free(output);
    }
#ifdef _WIN32
    /* Raw arguments go through verbatim. */
    const char* raw[] = { ni_test_self(), "one \"two three\" four\\", NULL };
    output = run(raw, role_env("argv"), NULL, NULL, 0, NI_SPAWN_RAW_ARGUMENTS, &code);
    if (CHECK(output != NULL))
    {
        if (!CHECK(strcmp(output, "[one][two three][four\\]") == 0))
            fprintf(stderr, "got %s\n", output);
        free(output);
    }
#endif
}

#ifndef _WIN32
static int no_children_left(void)
{
    int status;
    return waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD;
}
#endif

/* Starts this program as a child that exits with `code` and waits for that exit; 1 if it started (then the
   caller closes `process`). */
static int exited_child(const char* code, ni_process* process)
{
    const char* args[] = { code, NULL };
    if (!CHECK_OK(start_role("exit", args, NI_INVALID_HANDLE, process)))
        return 0;
    int32_t exited = 0, status = -1;
    CHECK_OK(ni_wait(process, WAIT_MS, &exited, &status));
    CHECK_INT(exited, 1);
    CHECK_INT(status, atoi(code));
    return 1;
}

static void exit_codes(void)
{
    const char* codes[] = { "0", "1", "255" };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    {
        ni_process process;
        if (exited_child(codes[i], &process))
            CHECK_OK(ni_process_close(&process));
    }
#ifndef _WIN32
    /* A death by signal: 128 + the signal, as a shell says. */
    const char* argv[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
    {
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 128 + SIGTERM);
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(no_children_left());
#endif
}

static void exec_failures_are_errors(void)
{
    const char* argv[] = { "missing", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "no-such-program");
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, NULL, 0, 0, &process), NI_TEST_ENOENT);
    CHECK_INT(process.pid, 12345); /* untouched on failure */
#ifndef _WIN32
    CHECK(no_children_left()); /* reaped: no zombie, no child that "exited 127" */
    char plain[NI_TEST_PATH_MAX];
    ni_test_path(plain, "not-executable");
    CHECK_OK(ni_test_write_file(plain, "#!/bin/sh\n", 10, 0644));
    CHECK_RC(ni_spawn(plain, argv, NULL, NULL, NULL, 0, 0, &process), EACCES);
    CHECK(no_children_left());
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, missing, NULL, 0, 0, &process), ENOENT); /* cwd */
    ni_fd_mapping bad[] = { { NI_TEST_BAD_HANDLE, 3 } };
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, NULL, bad, 1, 0, &process), EBADF);
    CHECK(no_children_left());
    CHECK_INT(process.pid, 12345);
#endif
}

static void bad_arguments(void)
{
    /* A program that exists, so that only the argument can be what is refused. */
    const char* program = NI_TEST_CODE("/bin/sh", ni_test_self());
    const char* argv[] = { "sh", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 0, 0x40000000, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(program, NULL, NULL, NULL, NULL, 0, 0, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 1, 0, &process), NI_TEST_EINVAL);
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, NULL, 0, 0, NULL), NI_TEST_EINVAL);
    int32_t exited, code;
    CHECK_RC(ni_wait(NULL, 0, &exited, &code), NI_TEST_EINVAL);
    CHECK_RC(ni_kill(NULL, SIGKILL), NI_TEST_EINVAL);
    CHECK_RC(ni_process_close(NULL), NI_TEST_EINVAL);
#ifdef _WIN32
    /* Windows passes a handle under its own value (NI_SPAWN_SAME_NUMBER) or as a standard stream. */
    ni_fd_mapping elsewhere[] = { { (ni_handle)GetStdHandle(STD_OUTPUT_HANDLE), 7 } };
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, elsewhere, 1, 0, &process), ERROR_NOT_SUPPORTED);
#else
    CHECK_RC(ni_spawn(NULL, argv, NULL, NULL, NULL, 0, 0, &process), EINVAL); /* Windows: a search for argv[0] */
    ni_fd_mapping twice[] = { { 1, 3 }, { 2, 3 } };
    ni_fd_mapping negative[] = { { 1, -3 } }; /* -1 and -2 are NI_SPAWN_SAME_NUMBER and NI_SPAWN_TERMINAL */
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, twice, 2, 0, &process), EINVAL);
    CHECK_RC(ni_spawn(program, argv, NULL, NULL, negative, 1, 0, &process), EINVAL);
    CHECK(no_children_left());
#endif
    CHECK_INT(process.pid, 12345);
}

#ifndef _WIN32
/* Whether this kernel keeps a collected child's wait status in its pidfd (PIDFD_GET_INFO with PIDFD_INFO_EXIT,
   Linux 6.15), asked directly of a forked child: the test's own probe, not the library's code. */
static int kernel_keeps_exit_status_in_pidfd(void)
{
#ifdef __linux__
    struct
    {
        uint64_t mask, cgroupid;
        uint32_t ids[11];
        int32_t exit_code;
        uint32_t coredump_mask, spare;
    } info;
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    int fd = (int)syscall(434 /* pidfd_open */, pid, 0);
    int status;
    waitpid(pid, &status, 0);
    if (fd < 0)
        return 0;
    memset(&info, 0, sizeof info);
    info.mask = UINT64_C(1) << 3;
    int kept = ioctl(fd, (int)_IOWR(0xFF, 11, info), &info) == 0 && (info.mask & (UINT64_C(1) << 3)) &&
               WIFEXITED(info.exit_code) && WEXITSTATUS(info.exit_code) == 5;
    close(fd);
    return kept;
#else
    return 0;
#endif
}
#endif

static void wait_timeout_and_kill(void)
{
    /* The child waits for the end of its stdin: a pipe whose write end only we hold and never close
       before the kill. */
    ni_handle in_r, in_w;
    if (!CHECK_OK(ni_pipe(&in_r, &in_w)))
        return;
    ni_process process;
    if (CHECK_OK(start_role("wait", NULL, in_r, &process)))
    {
        CHECK(process.pid > 0);
        int32_t exited = -1, code = -1;
        long long t0 = ni_test_now_ms();
        CHECK_OK(ni_wait(&process, 0, &exited, &code)); /* just looks: never sleeps */
        CHECK_INT(exited, 0);
        CHECK(ni_test_now_ms() - t0 < 1000);
        t0 = ni_test_now_ms();
        CHECK_OK(ni_wait(&process, 200, &exited, &code));
        long long elapsed = ni_test_now_ms() - t0;
        CHECK_INT(exited, 0);
        CHECK(elapsed >= 190 && elapsed < 5000);
        CHECK_OK(ni_wait_for_exit(&process, 0, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_wait_for_exit(&process, 50, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_kill(&process, 0)); /* signal 0 only checks: the child runs on */
        CHECK_OK(ni_wait_for_exit(&process, 0, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_kill(&process, SIGKILL));
        CHECK_OK(ni_wait_for_exit(&process, -1, &exited));
        CHECK_INT(exited, 1);
        CHECK_OK(ni_wait(&process, 10000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, NI_TEST_CODE(128 + SIGKILL, -1));
        CHECK_RC(ni_wait_for_exit(&process, -2, &exited), NI_TEST_EINVAL);
        CHECK_RC(ni_wait_for_exit(&process, 0, NULL), NI_TEST_EINVAL);
#ifndef _WIN32
        if (process.handle != NI_INVALID_HANDLE && kernel_keeps_exit_status_in_pidfd())
        {
            CHECK_OK(ni_wait(&process, 0, &exited, &code)); /* reaped, but the pidfd keeps the status */
            CHECK_INT(code, 128 + SIGKILL);
        }
        else
            CHECK_RC(ni_wait(&process, 0, &exited, &code), ECHILD); /* reaped: the code was the one report */
        CHECK_RC(ni_kill(&process, SIGKILL), ESRCH);
#endif
        CHECK_OK(ni_process_close(&process));
        CHECK_INT(process.handle, NI_INVALID_HANDLE);
        CHECK_OK(ni_process_close(&process)); /* twice is harmless */
#ifdef _WIN32
        CHECK_RC(ni_wait_for_exit(&process, 0, &exited), ERROR_INVALID_PARAMETER); /* closed: no handle */
#endif
    }
    int32_t exited;
    CHECK_RC(ni_wait_for_exit(NULL, 0, &exited), NI_TEST_EINVAL);
    ni_close(in_r), ni_close(in_w);
}

/* A child that has exited is "already gone" (ESRCH, ERROR_NOTHING_TO_TERMINATE: NI_ERR_SRCH) for any signal,
   0 (only a check) included; on Windows never the bad-handle code that a handle which is no process gives. */
static void kill_after_exit(void)
{
    /* 259 is Windows' STILL_ACTIVE: an exit code that GetExitCodeProcess cannot tell from a running process. */
    const char* codes[] = { "0", NI_TEST_CODE("42", "259") };
    const int32_t gone = NI_TEST_CODE(ESRCH, ERROR_NOTHING_TO_TERMINATE);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
    {
        ni_process process;
        if (!exited_child(codes[i], &process))
            continue;
        CHECK_RC(ni_kill(&process, SIGKILL), gone);
        CHECK_INT(ni_error_kind(ni_kill(&process, SIGTERM)), NI_ERR_SRCH);
        CHECK_RC(ni_kill(&process, 0), gone);
#ifdef _WIN32
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, 0, &exited, &code)); /* the kill changed nothing */
        CHECK_INT(code, atoi(codes[i]));
#endif
        CHECK_OK(ni_process_close(&process));
    }
#ifdef _WIN32
    ni_process bad = { 1, NI_TEST_BAD_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_kill(&bad, SIGKILL), ERROR_INVALID_HANDLE);
    CHECK_INT(ni_error_kind(ni_kill(&bad, SIGKILL)), NI_ERR_BADF);
#endif
}

static void stdout_eof_while_a_sibling_runs(void)
{
    /* The classic hang: a long-lived sibling started meanwhile must not hold the first child's pipe. */
    ni_handle r, w, in_r, in_w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    if (CHECK_OK(ni_pipe(&in_r, &in_w)))
    {
        const char* args[] = { "done", NULL };
        const char* argv[NI_TEST_MAX_ARGS];
        ni_test_command_line(ni_test_self(), args, argv);
        ni_fd_mapping m[] = { { w, 1 } };
        /* The sibling waits for its stdin's end; on POSIX it keeps this process's stdout and stderr too, as
           a Process.Start child would. */
        ni_fd_mapping stdio[] = { { in_r, 0 }, { 1, 1 }, { 2, 2 } };
        const int32_t stdio_count = NI_TEST_CODE(3, 1);
        ni_process child, sibling;
        if (CHECK_OK(ni_spawn(argv[0], argv, role_env("argv"), NULL, m, 1, 0, &child)))
        {
            if (CHECK_OK(ni_spawn(argv[0], argv, role_env("wait"), NULL, stdio, stdio_count, 0, &sibling)))
            {
                ni_close(w);
                w = NI_INVALID_HANDLE;
                int timed_out;
                char* text = ni_test_read_all(r, 10000, &timed_out);
                CHECK(!timed_out);
                CHECK(strcmp(text, "[done]") == 0);
                free(text);
                int32_t exited, code;
                CHECK_OK(ni_wait(&child, WAIT_MS, &exited, &code));
                CHECK_OK(ni_wait(&sibling, 0, &exited, &code));
                CHECK_INT(exited, 0); /* the sibling really was still running */
                CHECK_OK(ni_kill(&sibling, SIGKILL));
                CHECK_OK(ni_wait(&sibling, WAIT_MS, &exited, &code));
                ni_process_close(&sibling);
            }
            ni_process_close(&child);
        }
        ni_close(in_r), ni_close(in_w);
    }
    if (w != NI_INVALID_HANDLE)
        ni_close(w);
    ni_close(r);
}

/* ---- POSIX: descriptors mapped to numbers, the exact set a child gets ---- */

#ifndef _WIN32
static void child_gets_exactly_the_mapped(void)
{
    /* Inheritable on purpose and not listed: a file (as FileShare.Inheritable makes), a socket, a pipe. */
    char path[NI_TEST_PATH_MAX], file_target[NI_TEST_DESCRIPTION_MAX], socket_target[64], pipe_target[64];
    ni_test_path(path, "inheritable");
    ni_handle file = ni_test_plain_file(path), leaky_r, leaky_w;
    int sock = socket(AF_INET, SOCK_STREAM, 0);
    if (!CHECK(file >= 0) || !CHECK(sock >= 0) || !CHECK(ni_test_plain_pipe(&leaky_r, &leaky_w)))
        return;
    ni_test_describe_handle(file, file_target, sizeof file_target);
    ni_test_describe_handle(sock, socket_target, sizeof socket_target);
    ni_test_describe_handle(leaky_r, pipe_target, sizeof pipe_target);

    /* Listed, and non-inheritable here: a pipe end mapped to 3, a socket to 9. */
    ni_handle lr, lw, listed_socket;
    if (!CHECK_OK(ni_pipe(&lr, &lw)) || !CHECK_OK(ni_socket(NI_AF_INET, NI_SOCK_STREAM, 0, &listed_socket)))
        return;
    char listed_target[64], listed_socket_target[64];
    ni_test_describe_handle(lr, listed_target, sizeof listed_target);
    ni_test_describe_handle(listed_socket, listed_socket_target, sizeof listed_socket_target);

    /* Control: a plain fork+exec child does see the inheritable three. */
    CHECK(ni_test_child_sees(file));
    CHECK(ni_test_child_sees(sock));
    CHECK(ni_test_child_sees(leaky_r));

    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    ni_fd_mapping extra[] = { { lr, 3 }, { listed_socket, 9 } };
    int32_t code = -1;
    char* list = run(argv, NULL, NULL, extra, 2, 0, &code);
    if (CHECK(list != NULL))
    {
        CHECK_INT(code, 0);
        CHECK(ni_test_probe_has(list, 1, NULL));
        CHECK(ni_test_probe_has(list, 3, listed_target));
        CHECK(ni_test_probe_has(list, 9, listed_socket_target));
        CHECK(!ni_test_probe_has(list, NI_INVALID_HANDLE, file_target));
        CHECK(!ni_test_probe_has(list, NI_INVALID_HANDLE, socket_target));
        CHECK(!ni_test_probe_has(list, NI_INVALID_HANDLE, pipe_target));
        CHECK(!ni_test_probe_has(list, 0, NULL)); /* stdin and stderr were not mapped: absent */
        CHECK(!ni_test_probe_has(list, 2, NULL));
        if (!CHECK_INT(ni_test_probe_lines(list), 3))
            fprintf(stderr, "child's descriptors:\n%s", list);
        free(list);
    }
    /* Still non-inheritable here: listing a handle does not change it in this process. */
    int32_t inheritable = -1;
    CHECK_OK(ni_get_inheritable(lr, &inheritable));
    CHECK_INT(inheritable, 0);
    ni_close(file), ni_close(sock), ni_close(leaky_r), ni_close(leaky_w);
    ni_close(lr), ni_close(lw), ni_close(listed_socket);
}

static void mappings_do_not_clobber_each_other(void)
{
    /* Two pipes whose read ends swap numbers in the child, and a third mapped onto its own number:
       every target is another mapping's source. */
    ni_handle a, aw, b, bw, c, cw;
    if (!CHECK_OK(ni_pipe(&a, &aw)) || !CHECK_OK(ni_pipe(&b, &bw)) || !CHECK_OK(ni_pipe(&c, &cw)))
        return;
    char ta[64], tb[64], tc[64];
    ni_test_describe_handle(a, ta, sizeof ta);
    ni_test_describe_handle(b, tb, sizeof tb);
    ni_test_describe_handle(c, tc, sizeof tc);
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    ni_fd_mapping extra[] = { { a, (int32_t)b }, { b, (int32_t)a }, { c, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* list = run(argv, NULL, NULL, extra, 3, 0, &code);
    if (CHECK(list != NULL))
    {
        CHECK(ni_test_probe_has(list, b, ta));
        CHECK(ni_test_probe_has(list, a, tb));
        CHECK(ni_test_probe_has(list, c, tc));
        if (!CHECK_INT(ni_test_probe_lines(list), 4))
            fprintf(stderr, "child's descriptors:\n%s", list);
        free(list);
    }
    /* The child's stdout (target 1, the pipe run reads) is not special: c goes onto a's number, which is
       mapped from nothing else. */
    ni_fd_mapping onto[] = { { c, (int32_t)a } };
    list = run(argv, NULL, NULL, onto, 1, 0, &code);
    if (CHECK(list != NULL))
    {
        CHECK_INT(code, 0);
        CHECK(ni_test_probe_has(list, a, tc));
        CHECK(ni_test_probe_has(list, 1, NULL));
        CHECK_INT(ni_test_probe_lines(list), 2);
        free(list);
    }
    ni_close(a), ni_close(aw), ni_close(b), ni_close(bw), ni_close(c), ni_close(cw);
}

/* Targets at the very top of the descriptor range (RLIMIT_NOFILE 1024 here: 1022, 1023), which the header
   promises like any other number. The child once parked its report pipe and its temporary copies above
   every target, where no number was left: EINVAL. Now they go to free numbers that no mapping targets. In a
   forked child, so that the lowered limit stays there. */
static int top_of_the_range_round(void* arg)
{
    (void)arg;
    struct rlimit limit;
    if (!CHECK_INT(getrlimit(RLIMIT_NOFILE, &limit), 0))
        return 0;
    limit.rlim_cur = 1024;
    ni_handle a, aw, b, bw;
    if (!CHECK_INT(setrlimit(RLIMIT_NOFILE, &limit), 0) || !CHECK_OK(ni_pipe(&a, &aw)) || !CHECK_OK(ni_pipe(&b, &bw)))
        return 0;
    char ta[64], tb[64];
    ni_test_describe_handle(a, ta, sizeof ta);
    ni_test_describe_handle(b, tb, sizeof tb);
    /* A descriptor of our own at 1023, non-inheritable (this child has one thread: no race to fear). */
    int top = dup2((int)a, 1023);
    if (top == 1023)
        fcntl(top, F_SETFD, FD_CLOEXEC);
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    const ni_fd_mapping same_number[] = { { top, NI_SPAWN_SAME_NUMBER } };
    const ni_fd_mapping as_1023[] = { { b, 1023 } };
    const ni_fd_mapping both[] = { { a, 1022 }, { b, 1023 } };
    const struct { const ni_fd_mapping* mappings; int32_t count; int fd1022; const char* at1022; const char* at1023; }
        cases[] = { { same_number, 1, 0, NULL, ta }, { as_1023, 1, 0, NULL, tb }, { both, 2, 1, ta, tb } };
    int ok = CHECK_INT(top, 1023);
    for (size_t i = 0; top == 1023 && i < sizeof cases / sizeof cases[0]; i++)
    {
        int32_t code = -1;
        char* list = run(argv, NULL, NULL, cases[i].mappings, cases[i].count, 0, &code);
        int good = CHECK(list != NULL) && CHECK_INT(code, 0) && CHECK(ni_test_probe_has(list, 1023, cases[i].at1023)) &&
                   CHECK_INT(ni_test_probe_has(list, 1022, cases[i].at1022), cases[i].fd1022) &&
                   CHECK_INT(ni_test_probe_lines(list), 2 + cases[i].fd1022); /* and its stdout */
        ok &= good;
        if (!good && list != NULL)
            fprintf(stderr, "case %zu, the child's descriptors:\n%s", i, list);
        free(list);
    }
    /* Control: a target at the limit itself is no descriptor number here. */
    const ni_fd_mapping above[] = { { b, 1024 } };
    ni_process process;
    ok &= CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, above, 1, 0, &process), EBADF);
    if (top >= 0)
        close(top);
    ni_close(a), ni_close(aw), ni_close(b), ni_close(bw);
    return ok;
}

static void targets_at_the_top_of_the_range(void)
{
    CHECK_INT(ni_test_run_injected(NULL, 0, top_of_the_range_round, NULL), 1);
}

static void inherit_stdio_adds_the_open_standard_streams(void)
{
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    int32_t code = -1;
    char* list = run(argv, NULL, NULL, NULL, 0, NI_SPAWN_INHERIT_STDIO | NI_SPAWN_DEFAULT_SIGPIPE, &code);
    if (!CHECK(list != NULL))
        return;
    CHECK_INT(code, 0);
    int expected = 1;
    for (int std = 0; std <= 2; std += 2)
    {
        int open_here = fcntl(std, F_GETFD) >= 0;
        expected += open_here;
        CHECK_INT(ni_test_probe_has(list, std, NULL), open_here);
    }
    CHECK(ni_test_probe_has(list, 1, NULL));
    CHECK_INT(ni_test_probe_lines(list), expected);
    free(list);
}

static void environment_and_directory(void)
{
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(dir, "");
    const char* argv[] = { "/bin/sh", "-c", "printf '%s|%s|%s' \"$ONE\" \"$TWO\" \"$(pwd -P)\"", NULL };
    const char* envp[] = { "ONE=1", "TWO=two words", NULL };
    int32_t code = -1;
    char* output = run(argv, envp, dir, NULL, 0, 0, &code);
    if (!CHECK(output != NULL))
        return;
    CHECK_INT(code, 0);
    char expected[NI_TEST_PATH_MAX + 64];
    size_t dir_length = strlen(dir);
    if (dir_length > 1 && dir[dir_length - 1] == '/')
        dir[dir_length - 1] = '\0';
    snprintf(expected, sizeof expected, "1|two words|%s", dir);
    if (!CHECK(strcmp(output, expected) == 0))
        fprintf(stderr, "got %s, expected %s\n", output, expected);
    free(output);
}

static void pidfd_when_the_kernel_has_one(void)
{
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
        return;
    if (process.handle == NI_INVALID_HANDLE)
        ni_test_skip("no pidfd_open here (kernel before 5.3, or an emulator without it)");
    else
        CHECK_INT(ni_test_inherit_flag(process.handle), 0);
    int32_t exited, code;
    CHECK_OK(ni_wait(&process, -1, &exited, &code));
    CHECK_INT(code, 0);
    CHECK_OK(ni_process_close(&process));
}

static void listening_socket_as_fd_3(void)
{
    ni_handle listener;
    int port;
    if (!CHECK_OK(ni_test_listen_loopback(&listener, &port)))
        return;
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), NULL, argv);
    ni_fd_mapping m[] = { { listener, 3 } };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, role_env("accept"), NULL, m, 1, 0, &process)))
    {
        ni_handle client = ni_test_connect_loopback(port);
        if (CHECK(client != NI_INVALID_HANDLE))
        {
            int timed_out;
            char* text = ni_test_read_all(client, 20000, &timed_out);
            CHECK(strcmp(text, "accepted") == 0);
            free(text);
            ni_close(client);
        }
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
    }
    ni_close(listener);
}

/* Other threads create inheritable descriptors and fork+exec plain children while we spawn. */
static volatile int g_stop;

static void* leaky_thread(void* arg)
{
    (void)arg;
    while (!g_stop)
    {
        int fds[2];
        if (pipe(fds) == 0) /* inheritable */
        {
            pid_t pid = fork();
            if (pid == 0)
            {
                execl("/bin/true", "true", (char*)NULL);
                _exit(127);
            }
            if (pid > 0)
                waitpid(pid, NULL, 0);
            close(fds[0]);
            close(fds[1]);
        }
    }
    return NULL;
}

static void exact_while_other_threads_fork(void)
{
    pthread_t threads[2];
    g_stop = 0;
    for (int i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, leaky_thread, NULL);
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, NULL, argv);
    int bad = 0;
    for (int round = 0; round < 20 && !bad; round++)
    {
        int32_t code = -1;
        char* list = run(argv, NULL, NULL, NULL, 0, 0, &code);
        if (list == NULL || ni_test_probe_lines(list) != 1 || !ni_test_probe_has(list, 1, NULL))
        {
            bad = 1;
            fprintf(stderr, "round %d, the child held:\n%s", round, list != NULL ? list : "(nothing)\n");
        }
        free(list);
    }
    g_stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    CHECK(!bad);
}

/* ni_wait_for_exit waits for the exit and leaves the child to ni_wait: through the pidfd, and (the same
   child seen without its pidfd) through waitid(WNOWAIT), the path of kernels before 5.3. */
static void wait_for_exit_leaves_the_code_to_ni_wait(void)
{
    for (int with_pidfd = 1; with_pidfd >= 0; with_pidfd--)
    {
        const char* argv[] = { "/bin/sh", "-c", "sleep 0.3; exit 9", NULL };
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
            return;
        ni_process seen = process;
        if (!with_pidfd)
            seen.handle = NI_INVALID_HANDLE;
        int32_t exited = -1, code = -1;
        long long t0 = ni_test_now_ms();
        CHECK_OK(ni_wait_for_exit(&seen, 0, &exited));
        CHECK_INT(exited, 0);
        CHECK_OK(ni_wait_for_exit(&seen, 50, &exited));
        CHECK_INT(exited, 0);
        CHECK(ni_test_now_ms() - t0 >= 45);
        CHECK_OK(ni_wait_for_exit(&seen, -1, &exited));
        CHECK_INT(exited, 1);
        CHECK(ni_test_now_ms() - t0 >= 250); /* it did wait for the child's 0.3 s */
        CHECK_OK(ni_wait_for_exit(&seen, 0, &exited)); /* exited, not collected: asking again says so */
        CHECK_INT(exited, 1);
        /* Not collected: ni_wait still has the exit code, at once. */
        CHECK_OK(ni_wait(&process, 0, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 9);
        if (with_pidfd && process.handle != NI_INVALID_HANDLE)
        {
            CHECK_OK(ni_wait_for_exit(&seen, -1, &exited)); /* a pidfd stays readable once collected */
            CHECK_INT(exited, 1);
        }
        else if (!with_pidfd)
            CHECK_RC(ni_wait_for_exit(&seen, -1, &exited), ECHILD);
        CHECK_OK(ni_process_close(&process));
    }
    const char* argv[] = { "/bin/sleep", "30", NULL };
    ni_process process;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
    {
        int32_t exited = -1, code = -1;
        CHECK_OK(ni_kill(&process, SIGKILL)); /* a death by signal ends the wait as well */
        CHECK_OK(ni_wait_for_exit(&process, 10000, &exited));
        CHECK_INT(exited, 1);
        CHECK_OK(ni_wait(&process, 0, &exited, &code));
        CHECK_INT(code, 128 + SIGKILL);
        CHECK_OK(ni_process_close(&process));
    }
    int32_t exited;
    ni_process none = { 0, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_wait_for_exit(NULL, 0, &exited), EINVAL);
    CHECK_RC(ni_wait_for_exit(&none, 0, &exited), EINVAL);
    none.pid = 1;
    CHECK_RC(ni_wait_for_exit(&none, 0, NULL), EINVAL);
    CHECK_RC(ni_wait_for_exit(&none, -2, &exited), EINVAL);
    CHECK_RC(ni_wait_for_exit(&none, 0, &exited), ECHILD); /* not our child */
    CHECK(no_children_left());
}

static void* collect_pid(void* pid)
{
    int status;
    waitpid((pid_t)*(const int64_t*)pid, &status, 0);
    return NULL;
}

/* Other code collects our child first, as a .NET runtime that is pid 1 does with every child: ni_wait still
   gives the exit code where the kernel keeps it in the pidfd, by either of its paths; elsewhere ECHILD, never
   a wrong code. */
static void exit_code_after_other_code_collected_the_child(void)
{
    const char* exits[] = { "/bin/sh", "-c", "exit 42", NULL };
    const char* sleeps[] = { "/bin/sleep", "30", NULL };
    int kept = kernel_keeps_exit_status_in_pidfd();
    for (int round = 0; round < 3; round++)
    {
        const char* const* argv = round == 2 ? sleeps : exits;
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
            return;
        if (round == 2)
            CHECK_OK(ni_kill(&process, SIGKILL));
        int status;
        CHECK_INT(waitpid((pid_t)process.pid, &status, 0), (int)process.pid); /* the other code */
        int32_t exited = -1, code = -1;
        int32_t rc = ni_wait(&process, round == 1 ? -1 : 0, &exited, &code);
        if (kept && process.handle != NI_INVALID_HANDLE)
        {
            CHECK_OK(rc);
            CHECK_INT(exited, 1);
            CHECK_INT(code, round == 2 ? 128 + SIGKILL : 42);
        }
        else
            CHECK_RC(rc, ECHILD);
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(no_children_left());
    if (!kept)
    {
        ni_test_skip("this kernel keeps no exit status in a pidfd (before Linux 6.15, or an emulator): ECHILD checked instead");
        return;
    }
    /* ni_wait polling while the other code collects: waitpid says ECHILD as soon as the other side marks the child
       dead, a moment before the release records the status in the pidfd. Every round must still give 3. */
    int wrong = 0;
    for (int round = 0; round < 1000 && !wrong; round++)
    {
        const char* argv[] = { "/bin/sh", "-c", "exit 3", NULL };
        ni_process process;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
            return;
        pthread_t thief;
        if (!CHECK(pthread_create(&thief, NULL, collect_pid, &process.pid) == 0))
            return;
        int32_t exited = 0, code = -1, rc;
        while ((rc = ni_wait(&process, 0, &exited, &code)) == 0 && !exited) { }
        pthread_join(thief, NULL);
        if (rc != 0 || code != 3)
        {
            wrong = 1;
            fprintf(stderr, "round %d: ni_wait gave %d (%s), code %d\n", round, rc, strerror(rc), code);
        }
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(!wrong);
}

#ifdef __linux__
/* ni_wait with a zero timeout only looks, even for a child that other code collected whose status the kernel
   has not recorded in the pidfd yet: it says "not exited" and a later call finds the status. It once waited
   up to 250 ms for the record, and ChildProcess calls it under its lock for every live child on each SIGCHLD.
   Proved without timing: in a forked child (for which the spawned process is not a child: waitpid says
   ECHILD, as when other code collected it) the pidfd's record is made absent (PIDFD_GET_INFO, the only
   _IOR/_IOWR ioctl here, fails with ESRCH, as in the moment before the kernel records it) and every call
   that can sleep kills the process. */
static int wait_zero_round(void* arg)
{
    ni_process* process = arg;
    int32_t exited = -1, code = -1;
    int ok = CHECK_OK(ni_wait(process, 0, &exited, &code));
    return ok & CHECK_INT(exited, 0);
}

static void wait_with_zero_timeout_never_sleeps(void)
{
    const char* argv[] = { "/bin/sh", "-c", "exit 42", NULL };
    ni_process process;
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &process)))
        return;
    int status;
    CHECK_INT(waitpid((pid_t)process.pid, &status, 0), (int)process.pid); /* the other code */
    if (process.handle == NI_INVALID_HANDLE)
    {
        ni_test_skip("no pidfd here: ni_wait has no record to wait for");
        ni_process_close(&process);
        return;
    }
    const struct ni_test_fault faults[] = {
        { SYS_ioctl, 1, 0x80000000u, ESRCH },
#ifdef SYS_poll
        { SYS_poll, -1, 0, NI_TEST_FAULT_KILL },
#endif
#ifdef SYS_nanosleep
        { SYS_nanosleep, -1, 0, NI_TEST_FAULT_KILL },
#endif
#ifdef SYS_select
        { SYS_select, -1, 0, NI_TEST_FAULT_KILL },
#endif
        { SYS_ppoll, -1, 0, NI_TEST_FAULT_KILL },
        { SYS_clock_nanosleep, -1, 0, NI_TEST_FAULT_KILL },
        { SYS_pselect6, -1, 0, NI_TEST_FAULT_KILL },
        { SYS_epoll_pwait, -1, 0, NI_TEST_FAULT_KILL },
    };
    int rc = ni_test_run_injected(faults, sizeof faults / sizeof faults[0], wait_zero_round, &process);
    if (rc < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
    /* Here, with the record there, a later zero-timeout call finds the status. */
    int32_t exited = -1, code = -1;
    if (kernel_keeps_exit_status_in_pidfd())
    {
        CHECK_OK(ni_wait(&process, 0, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 42);
    }
    else
        CHECK_RC(ni_wait(&process, -1, &exited, &code), ECHILD);
    CHECK_OK(ni_process_close(&process));
}
#endif
#endif

/* ---- NI_SPAWN_SUSPENDED and ni_process_resume ---- */

#ifndef _WIN32
static const char* const echo_ran[] = { "/bin/sh", "-c", "echo ran", NULL };

/* Starts echo_ran suspended, its stdout a new pipe whose read end goes to *r; 1 if it did. */
static int start_suspended_echo(ni_handle* r, ni_process* process)
{
    ni_handle w;
    if (!CHECK_OK(ni_pipe(r, &w)))
        return 0;
    ni_fd_mapping m[] = { { w, 1 } };
    int32_t rc = ni_spawn(echo_ran[0], echo_ran, NULL, NULL, m, 1, NI_SPAWN_SUSPENDED, process);
    ni_close(w);
    if (!CHECK_OK(rc))
        ni_close(*r);
    return rc == 0;
}
#endif

#ifdef __linux__

/* The descriptors process `pid` holds, counted in /proc/<pid>/fd, below our descriptor limit: under valgrind a
   child that has not called execve yet still holds valgrind's own, which sit above the limit it shows us. */
static int fd_count_of(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    struct rlimit limit;
    DIR* dir = opendir(path);
    if (dir == NULL || getrlimit(RLIMIT_NOFILE, &limit) != 0)
    {
        if (dir != NULL)
            closedir(dir);
        return -1;
    }
    int count = 0;
    for (struct dirent* entry; (entry = readdir(dir)) != NULL;)
        count += entry->d_name[0] != '.' && (rlim_t)atol(entry->d_name) < limit.rlim_cur;
    closedir(dir);
    return count;
}

/* Whether process `pid` still has our name (/proc/<pid>/comm; execve gives it the program's): a suspended child
   has not called execve. Not /proc/<pid>/exe: under qemu-user that is the emulator's for both. */
static int has_our_name(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", pid);
    char* theirs = ni_test_read_file(path, NULL);
    snprintf(path, sizeof path, "/proc/%d/comm", (int)getpid());
    char* ours = ni_test_read_file(path, NULL);
    int same = theirs != NULL && ours != NULL && strcmp(theirs, ours) == 0;
    free(theirs);
    free(ours);
    return same;
}

static void suspended_child_waits_until_resumed(void)
{
    ni_handle r;
    ni_process process;
    if (!start_suspended_echo(&r, &process))
        return;
    /* ni_spawn returned while the child waits: it is ready (its descriptors in place, the rest closed, not just
       marked) and has not run the program. */
    CHECK(process.resume != NI_INVALID_HANDLE && ni_test_inherit_flag(process.resume) == 0);
    CHECK(process.job == NI_INVALID_HANDLE);
    CHECK(has_our_name((int)process.pid));
    CHECK_INT(fd_count_of((int)process.pid), 2); /* its stdout and the resume socket */
    struct pollfd p = { (int)r, POLLIN, 0 };
    CHECK_INT(poll(&p, 1, 0), 0); /* nothing written, no end of file: the child still holds the pipe */
    int32_t exited = -1, code = -1;
    CHECK_OK(ni_wait(&process, 0, &exited, &code));
    CHECK_INT(exited, 0);

    CHECK_OK(ni_process_resume(&process));
    CHECK_INT(process.resume, NI_INVALID_HANDLE);
    CHECK_RC(ni_process_resume(&process), EINVAL); /* once only */
    int timed_out;
    char* text = ni_test_read_all(r, 20000, &timed_out);
    CHECK(strcmp(text, "ran\n") == 0);
    free(text);
    CHECK_OK(ni_wait(&process, -1, &exited, &code));
    CHECK_INT(code, 0);
    CHECK_OK(ni_process_close(&process));
    ni_close(r);
    /* Not suspended: there is nothing to resume. */
    const char* t[] = { "/bin/true", NULL };
    if (CHECK_OK(ni_spawn(t[0], t, NULL, NULL, NULL, 0, 0, &process)))
    {
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_RC(ni_process_resume(&process), EINVAL);
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    CHECK_RC(ni_process_resume(NULL), EINVAL);
}

/* Failures up to the wait are ni_spawn's; execve's are ni_process_resume's, and leave no process. */
static void suspended_failures_are_errors(void)
{
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "no-such-program");
    const char* argv[] = { "x", NULL };
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn("/bin/sh", argv, NULL, missing, NULL, 0, NI_SPAWN_SUSPENDED, &process), ENOENT); /* chdir */
    CHECK_INT(process.pid, 12345);
    CHECK(no_children_left());
    if (!CHECK_OK(ni_spawn(missing, argv, NULL, NULL, NULL, 0, NI_SPAWN_SUSPENDED, &process)))
        return;
    CHECK(ni_test_alive((int)process.pid)); /* waiting: the program is only looked for at execve */
    CHECK_RC(ni_process_resume(&process), ENOENT);
    CHECK_INT(process.resume, NI_INVALID_HANDLE);
    CHECK(no_children_left()); /* collected: no zombie, no child that "exited 127" */
    CHECK_OK(ni_process_close(&process));
}

#endif

#ifndef _WIN32
/* A suspended child that is never resumed: released, it exits 127 without running the program; killed, it dies
   of the signal (its handlers are the defaults already), and a later resume says ESRCH. */
static void suspended_child_never_resumed(void)
{
    ni_handle r;
    ni_process process;
    int32_t exited = -1, code = -1;
    if (start_suspended_echo(&r, &process))
    {
        CHECK_OK(ni_process_close(&process));
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_OK(ni_wait(&process, 20000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 127);
        int timed_out;
        char* text = ni_test_read_all(r, 20000, &timed_out);
        CHECK(!timed_out && text[0] == '\0'); /* the program never ran */
        free(text);
        ni_close(r);
    }
    if (CHECK_OK(ni_spawn(echo_ran[0], echo_ran, NULL, NULL, NULL, 0, NI_SPAWN_SUSPENDED, &process)))
    {
        CHECK_OK(ni_kill(&process, SIGTERM));
        CHECK_OK(ni_wait(&process, 20000, &exited, &code));
        CHECK_INT(code, 128 + SIGTERM);
        CHECK_RC(ni_process_resume(&process), ESRCH);
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_OK(ni_process_close(&process));
    }
    CHECK(no_children_left());
}

#endif

/* ---- Process groups and sessions ---- */

#ifdef __linux__

/* Starts `sleep 30` with `flags` and reads its /proc entry once it runs the program. */
static int start_sleeper(int32_t flags, ni_process* process, struct ni_test_proc* proc)
{
    const char* argv[] = { "/bin/sleep", "30", NULL };
    if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, flags, process)))
        return 0;
    return CHECK(ni_test_proc_stat((int)process->pid, proc));
}

static void stop_sleeper(ni_process* process)
{
    int32_t exited, code;
    CHECK_OK(ni_kill(process, SIGKILL));
    CHECK_OK(ni_wait(process, -1, &exited, &code));
    CHECK_OK(ni_process_close(process));
}

static void process_group_and_session(void)
{
    struct ni_test_proc proc;
    int group = (int)getpgrp(), session = (int)getsid(0); /* not /proc/self: qemu-user makes that one up */
    const struct { int32_t flags; int own_group, own_session; } cases[] = {
        { 0, 0, 0 }, { NI_SPAWN_NEW_PROCESS_GROUP, 1, 0 }, { NI_SPAWN_PROCESS_TREE, 1, 0 },
        { NI_SPAWN_DETACHED, 1, 1 }, { NI_SPAWN_DETACHED | NI_SPAWN_NEW_PROCESS_GROUP, 1, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        ni_process process;
        if (!start_sleeper(cases[i].flags, &process, &proc))
            continue;
        int pid = (int)process.pid;
        if (!CHECK_INT(proc.group, cases[i].own_group ? pid : group) ||
            !CHECK_INT(proc.session, cases[i].own_session ? pid : session))
            fprintf(stderr, "case %zu (flags 0x%x)\n", i, (unsigned)cases[i].flags);
        if (cases[i].own_session)
            CHECK_INT(proc.tty, 0); /* no controlling terminal */
        stop_sleeper(&process);
    }
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_DETACHED | NI_SPAWN_KILL_ON_PARENT_EXIT, &process),
             EINVAL);
}

/* A session leader with a terminal (the controlling process) exits: the kernel hangs the terminal's foreground
   group up (SIGHUP). A child started plainly is in that group and dies with it; a detached one, in a session of
   its own, lives on, and so does one in a new process group. In a forked child that takes a pseudo-terminal as
   its controlling terminal; the pids come back through a pipe. */
struct session_pids { int plain, group, detached; };

static int session_leader_round(void* arg)
{
    int* out = arg;
    ni_pty pty;
    struct session_pids pids = { 0, 0, 0 };
    if (!CHECK(setsid() > 0) || !CHECK_OK(ni_pty_open(80, 24, &pty)) ||
        !CHECK(ioctl((int)pty.console, TIOCSCTTY, 0) == 0))
        return 0;
    ni_process plain, group, detached;
    struct ni_test_proc proc;
    int ok = start_sleeper(0, &plain, &proc) && CHECK(proc.tty != 0) && start_sleeper(NI_SPAWN_NEW_PROCESS_GROUP, &group, &proc) &&
             CHECK(proc.tty != 0) && start_sleeper(NI_SPAWN_DETACHED, &detached, &proc) && CHECK_INT(proc.tty, 0);
    if (ok)
    {
        pids.plain = (int)plain.pid, pids.group = (int)group.pid, pids.detached = (int)detached.pid;
        ok = CHECK(write(out[1], &pids, sizeof pids) == (ssize_t)sizeof pids);
    }
    /* Exits holding the terminal (the master too: closing it would hang the terminal up on its own). */
    return ok;
}

static void detached_child_outlives_the_session(void)
{
    int out[2];
    if (!CHECK(pipe2(out, O_CLOEXEC) == 0))
        return;
    int passed = ni_test_run_injected(NULL, 0, session_leader_round, out);
    close(out[1]);
    struct session_pids pids = { 0, 0, 0 };
    int got = read(out[0], &pids, sizeof pids) == (ssize_t)sizeof pids;
    close(out[0]);
    if (!CHECK_INT(passed, 1) || !CHECK(got))
        return;
    CHECK(ni_test_wait_gone(pids.plain, 5000)); /* hung up with the session */
    CHECK(ni_test_alive(pids.detached));
    CHECK(ni_test_alive(pids.group));
    kill(pids.detached, SIGKILL);
    kill(pids.group, SIGKILL);
    kill(pids.plain, SIGKILL);
    CHECK(ni_test_wait_gone(pids.detached, 5000) && ni_test_wait_gone(pids.group, 5000));
}

/* ---- NI_SPAWN_KILL_ON_PARENT_EXIT ---- */

/* A child started on a thread that then exits, and how it was started. */
struct thread_child
{
    int with_library; /* ni_spawn with NI_SPAWN_KILL_ON_PARENT_EXIT; else the control: fork + PR_SET_PDEATHSIG */
    pid_t tid;
    pid_t pid;
};

static void* start_on_short_lived_thread(void* arg)
{
    struct thread_child* c = arg;
    c->tid = (pid_t)syscall(SYS_gettid);
    const char* argv[] = { "/bin/sleep", "100", NULL };
    if (c->with_library)
    {
        ni_process process;
        if (ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process) == 0)
            c->pid = (pid_t)process.pid;
        return NULL;
    }
    /* The control arms the signal itself, from this thread, and the thread waits until it is armed (the
       child has reached execve: the pipe is close-on-exec). */
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) != 0)
        return NULL;
    pid_t pid = fork();
    if (pid == 0)
    {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execv(argv[0], (char* const*)argv);
        _exit(127);
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR) { }
    close(ready[0]);
    c->pid = pid;
    return NULL;
}

/* Whether the thread `tid` of this process is gone, waiting up to 5 s: only then has the kernel done what a
   thread's exit does to the children it created (pthread_join returns a moment before). */
static int thread_gone(pid_t tid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d", (int)tid);
    for (int i = 0; i < 5000 && access(path, F_OK) == 0; i++)
        usleep(1000);
    return access(path, F_OK) != 0;
}

/* NI_TEST_ROLE=parent: starts one child with the flag and one control child (each on a thread that
   exits), waits until both threads are gone, starts a third child plainly, prints the three pids and waits to
   be killed (60 s at most, so that a test that died leaves nothing behind for long). */
static void parent_death_role(void)
{
    struct thread_child children[2] = { { 1, 0, 0 }, { 0, 0, 0 } };
    for (int i = 0; i < 2; i++)
    {
        pthread_t thread;
        if (pthread_create(&thread, NULL, start_on_short_lived_thread, &children[i]) != 0 ||
            pthread_join(thread, NULL) != 0 || children[i].pid <= 0 || !thread_gone(children[i].tid))
            _exit(3);
    }
    const char* argv[] = { "/bin/sleep", "100", NULL };
    ni_process plain;
    if (ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, 0, &plain) != 0)
        _exit(4);
    printf("%d %d %d\n", (int)children[0].pid, (int)children[1].pid, (int)plain.pid);
    fflush(stdout);
    sleep(60);
    _exit(5);
}

/* The "parent" role is this file's own (it needs the library, the framework's roles do not): taken before main. */
__attribute__((constructor)) static void take_the_parent_role(void)
{
    const char* role = getenv("NI_TEST_ROLE");
    if (role != NULL && strcmp(role, "parent") == 0)
        parent_death_role();
}

/* The child of a flagged spawn dies with its parent process, not with the thread that started it. The parent is
   a real process (this program in its "parent" role), killed with SIGKILL; a plain child of it lives on. */
static void kill_on_parent_exit_holds(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), NULL, argv);
    const char* const* envp = role_env("parent");
    ni_fd_mapping m[] = { { w, 1 }, { 2, 2 } };
    ni_process parent;
    int32_t rc = ni_spawn(argv[0], argv, envp, NULL, m, 2, 0, &parent);
    ni_close(w);
    if (!CHECK_OK(rc))
    {
        ni_close(r);
        return;
    }
    char line[128] = { 0 };
    size_t have = 0;
    struct pollfd p = { (int)r, POLLIN, 0 };
    while (have < sizeof line - 1 && strchr(line, '\n') == NULL && poll(&p, 1, 20000) > 0)
    {
        ssize_t got = read((int)r, line + have, sizeof line - 1 - have);
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    ni_close(r);
    int flagged = 0, control = 0, plain = 0;
    if (CHECK_INT(sscanf(line, "%d %d %d", &flagged, &control, &plain), 3))
    {
        /* The threads that started them are gone: the control died with its thread, ours did not. */
        CHECK(ni_test_wait_gone(control, 5000));
        CHECK(ni_test_alive(flagged));
        CHECK(ni_test_alive(plain));
    }
    int32_t exited, code;
    CHECK_OK(ni_kill(&parent, SIGKILL));
    CHECK_OK(ni_wait(&parent, -1, &exited, &code));
    CHECK_INT(code, 128 + SIGKILL);
    CHECK_OK(ni_process_close(&parent));
    if (flagged > 0)
    {
        CHECK(ni_test_wait_gone(flagged, 1000)); /* within a second of its parent */
        CHECK(ni_test_alive(plain));             /* the plain child outlives its parent */
    }
    int leftovers[] = { flagged, control, plain };
    for (size_t i = 0; i < 3; i++)
        if (leftovers[i] > 0)
        {
            kill(leftovers[i], SIGKILL);
            CHECK(ni_test_wait_gone(leftovers[i], 5000));
        }
}

/* The parent died before the child armed the signal: the child sees another parent (getppid, made to answer
   otherwise by a seccomp filter in a forked child) and must not run the program. */
static int orphan_round(void* arg)
{
    (void)arg;
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    int ok = CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process), ESRCH);
    return ok & CHECK(no_children_left());
}

static void kill_on_parent_exit_refuses_an_orphan(void)
{
    /* First a flagged spawn here, so that the library's thread exists when the round forks: the forked
       process must start a thread of its own. */
    const char* argv[] = { "/bin/true", NULL };
    ni_process process;
    int32_t exited, code;
    if (CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process)))
    {
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_INT(code, 0);
        CHECK_OK(ni_process_close(&process));
    }
    const struct ni_test_fault faults[] = { { SYS_getppid, -1, 0, ESRCH } };
    if (ni_test_run_injected(faults, 1, orphan_round, NULL) < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
}

/* ---- ni_kill_tree and ni_signal_group ---- */

/* Each tree test marks its processes with an environment entry that every descendant inherits, so that the
   test can find all of them in /proc/<pid>/environ, wherever they went: none may be left. */
static void tree_mark(char* mark, size_t size, const char* name)
{
    snprintf(mark, size, "NI_TREE_MARK=%d-%s", (int)getpid(), name);
}

/* The live processes carrying `mark` (at most `capacity` into `pids`); how many there are. */
static int marked(const char* mark, int* pids, int capacity)
{
    DIR* proc = opendir("/proc");
    int count = 0;
    size_t length = strlen(mark) + 1; /* with its NUL: the whole entry */
    for (struct dirent* entry; proc != NULL && (entry = readdir(proc)) != NULL;)
    {
        int pid = atoi(entry->d_name);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/environ", pid);
        size_t size = 0;
        char* env = pid > 0 ? ni_test_read_file(path, &size) : NULL;
        for (size_t at = 0; env != NULL && at < size; at += strlen(env + at) + 1)
        {
            if (at + length <= size + 1 && memcmp(env + at, mark, length - 1) == 0 && env[at + length - 1] == '\0' &&
                ni_test_alive(pid))
            {
                if (count < capacity)
                    pids[count] = pid;
                count++;
                break;
            }
        }
        free(env);
    }
    if (proc != NULL)
        closedir(proc);
    return count;
}

/* Waits up to 10 s until at least `count` marked processes run. */
static int wait_marked(const char* mark, int count)
{
    int pids[64];
    for (int i = 0; i < 10000; i += 5)
    {
        if (marked(mark, pids, 64) >= count)
            return 1;
        usleep(5000);
    }
    return 0;
}

/* Kills every marked process, and waits until each is gone. */
static void kill_marked(const char* mark)
{
    int pids[256];
    int n = marked(mark, pids, 256);
    for (int i = 0; i < n && i < 256; i++)
        kill(pids[i], SIGKILL);
    for (int i = 0; i < n && i < 256; i++)
        ni_test_wait_gone(pids[i], 5000);
}

/* Waits up to 5 s until no marked process is left; any that is is named and killed, so that a failed test
   leaves nothing behind either. */
static int none_left(const char* mark)
{
    int pids[256], n = 0;
    for (int i = 0; i < 5000 && (n = marked(mark, pids, 256)) > 0; i += 5)
        usleep(5000);
    for (int i = 0; i < n && i < 256; i++)
        fprintf(stderr, "  left behind: %d\n", pids[i]);
    kill_marked(mark);
    return n == 0;
}

/* Whether the group `group` is gone, waiting up to 5 s: its killed members stay as zombies until their new parent
   (init) collects them, and a group of zombies still takes signals. */
static int group_gone(int group)
{
    for (int i = 0; i < 5000 && (kill(-group, 0) == 0 || errno != ESRCH); i++)
        usleep(1000);
    if (kill(-group, 0) == 0 || errno != ESRCH)
    {
        ni_test_skip("the killed processes are never collected here (no init that reaps): ESRCH not checked");
        return 0;
    }
    return 1;
}

/* Starts `script` under sh with `flags`, marked with `mark`, and waits until `count` marked processes run. */
static int start_tree(const char* script, int32_t flags, const char* mark, int count, ni_process* process)
{
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    const char* envp[] = { "PATH=/usr/bin:/bin", mark, NULL };
    if (!CHECK_OK(ni_spawn(argv[0], argv, envp, NULL, NULL, 0, flags, process)))
        return 0;
    return CHECK(wait_marked(mark, count));
}

static void finish_tree(ni_process* process, int32_t expected_code)
{
    int32_t exited = 0, code = -1;
    if (ni_wait(process, 20000, &exited, &code) == 0 && exited)
        CHECK_INT(code, expected_code);
    else
        CHECK(exited);
    CHECK_OK(ni_process_close(process));
}

/* Three levels: sh, two sleeps. A kill of the child alone leaves the sleeps (the control); the tree kill
   reaches them, through the group the child led, even once the child is collected. Then the same tree killed
   whole while the child runs. */
static void kill_tree_reaches_every_descendant(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "sleeps");
    const char* script = "sleep 100 & sleep 100 & wait";
    ni_process process;
    if (start_tree(script, NI_SPAWN_PROCESS_TREE, mark, 3, &process))
    {
        CHECK_OK(ni_kill(&process, SIGKILL));
        finish_tree(&process, 128 + SIGKILL);
        int pids[4];
        CHECK(wait_marked(mark, 2) && marked(mark, pids, 4) == 2); /* the control: the sleeps live on */
        CHECK_OK(ni_kill_tree(&process, SIGKILL)); /* collected: its group is still reached */
    }
    CHECK(none_left(mark));
    if (group_gone((int)process.pid))
        CHECK_RC(ni_kill_tree(&process, SIGKILL), ESRCH); /* nothing left to reach */
    if (start_tree(script, NI_SPAWN_PROCESS_TREE, mark, 3, &process))
    {
        CHECK_OK(ni_kill_tree(&process, SIGKILL));
        CHECK(none_left(mark));
        finish_tree(&process, 128 + SIGKILL);
    }
    CHECK(none_left(mark));
}

/* A grandchild that forks all the time (sleeps that pile up, and short-lived children), in a child that leads no
   group: the tree is found by parentage while it grows, and nothing escapes. A signal other than SIGKILL reaches
   them too, after the stop, once continued. */
static void kill_tree_while_a_grandchild_forks(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "forker");
    const char* script = "sh -c 'while :; do sleep 100 & sleep 0.01; done' & "
                         "sh -c 'while :; do /bin/true; done' & wait";
    for (int round = 0; round < 2; round++)
    {
        ni_process process;
        int32_t signal = round == 0 ? SIGKILL : SIGTERM;
        if (start_tree(script, 0, mark, 10, &process))
        {
            CHECK_OK(ni_kill_tree(&process, signal));
            CHECK(none_left(mark));
            finish_tree(&process, 128 + signal);
        }
        CHECK(none_left(mark));
    }
}

/* A grandchild that called setsid (a session and group of its own) with a child of its own. While its parent
   lives it is a descendant and is reached, its group with it. Once its parent died before the kill, nothing ties
   it to the child any more (it was handed to init): out of reach, as the header says; the test kills it. */
static void kill_tree_and_a_grandchild_that_called_setsid(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "setsid");
    ni_process process;
    if (start_tree("setsid sh -c 'sleep 100 & wait' & wait", NI_SPAWN_PROCESS_TREE, mark, 3, &process))
    {
        CHECK_OK(ni_kill_tree(&process, SIGKILL));
        CHECK(none_left(mark));
        finish_tree(&process, 128 + SIGKILL);
    }
    CHECK(none_left(mark));
    /* The parent shell exits at once, leaving the setsid'd grandchild (and its sleep) to init. */
    if (start_tree("setsid sh -c 'sleep 100 & wait' & exit 0", NI_SPAWN_PROCESS_TREE, mark, 1, &process))
    {
        finish_tree(&process, 0);
        int pids[8];
        struct ni_test_proc proc;
        /* Both there (the sleep runs, so its parent has left the group already), neither in the child's group. */
        if (CHECK(wait_marked(mark, 2)) && CHECK_INT(marked(mark, pids, 8), 2))
            for (int i = 0; i < 2; i++)
                CHECK(ni_test_proc_stat(pids[i], &proc) && proc.group != (int)process.pid);
        CHECK_RC(ni_kill_tree(&process, SIGKILL), ESRCH); /* collected, its group empty: nothing reached */
        CHECK_INT(marked(mark, pids, 8), 2);               /* the grandchild and its sleep live on */
    }
    kill_marked(mark); /* the test's own cleanup: they were expected to be there */
}

/* ni_signal_group: a child leading its group takes what it started with it; the control (ni_kill) does not. A
   child that leads no group gets it alone. */
static void signal_group_reaches_the_group(void)
{
    char mark[64];
    tree_mark(mark, sizeof mark, "group");
    const char* script = "sleep 100 & sleep 100 & wait";
    ni_process process;
    int pids[4];
    if (start_tree(script, NI_SPAWN_NEW_PROCESS_GROUP, mark, 3, &process))
    {
        CHECK_OK(ni_kill(&process, SIGTERM)); /* the control: the shell only */
        finish_tree(&process, 128 + SIGTERM);
        CHECK(marked(mark, pids, 4) == 2);
        CHECK_OK(ni_signal_group(&process, SIGTERM)); /* collected: the group is still reached */
        CHECK(none_left(mark));
        if (group_gone((int)process.pid))
            CHECK_RC(ni_signal_group(&process, 0), ESRCH);
    }
    if (start_tree(script, NI_SPAWN_NEW_PROCESS_GROUP, mark, 3, &process))
    {
        CHECK_OK(ni_signal_group(&process, 0)); /* only checks */
        CHECK_INT(marked(mark, pids, 4), 3);
        CHECK_OK(ni_signal_group(&process, SIGTERM));
        CHECK(none_left(mark));
        finish_tree(&process, 128 + SIGTERM);
    }
    if (start_tree(script, 0, mark, 3, &process))
    {
        CHECK_OK(ni_signal_group(&process, SIGTERM)); /* no group of its own: the child alone, never ours */
        finish_tree(&process, 128 + SIGTERM);
        CHECK_INT(marked(mark, pids, 4), 2);
        CHECK_RC(ni_signal_group(&process, SIGTERM), ESRCH);
    }
    kill_marked(mark); /* the sleeps of the last case, expected to be there */
    CHECK(none_left(mark));
}

#endif

#ifndef _WIN32
static void tree_bad_arguments(void)
{
    ni_process none = { 0, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_kill_tree(NULL, SIGKILL), EINVAL);
    CHECK_RC(ni_kill_tree(&none, SIGKILL), EINVAL);
    CHECK_RC(ni_signal_group(NULL, SIGTERM), EINVAL);
    CHECK_RC(ni_signal_group(&none, SIGTERM), EINVAL);
    none.pid = -1;
    CHECK_RC(ni_kill_tree(&none, SIGKILL), EINVAL);
    none.pid = 1;
    CHECK_RC(ni_kill_tree(&none, 0), EINVAL);
    CHECK_RC(ni_kill_tree(&none, -9), EINVAL);
    CHECK_RC(ni_signal_group(&none, -1), EINVAL);
}

/* ---- NI_SPAWN_LISTEN_PID ---- */

/* LISTEN_PID is the child's own pid, replacing the caller's; the caller's strings are not changed. On each path
   a child can take: shared memory, a copy (suspended), the lasting thread. */
static void listen_pid_is_the_childs_own(void)
{
    char old_entry[] = "LISTEN_PID=999999";
    const char* envp[] = { "A=1", old_entry, "LISTEN_FDS=1", NULL };
    const char* argv[] = { "/bin/sh", "-c", "echo $$ $LISTEN_PID $LISTEN_FDS $A", NULL };
    const int32_t paths[] = {
        0, NI_SPAWN_SUSPENDED,
#ifdef __linux__
        NI_SPAWN_KILL_ON_PARENT_EXIT, /* other systems: ENOTSUP */
#endif
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    {
        ni_handle r, w;
        if (!CHECK_OK(ni_pipe(&r, &w)))
            return;
        ni_fd_mapping m[] = { { w, 1 } };
        ni_process process;
        int rc = ni_spawn(argv[0], argv, envp, NULL, m, 1, NI_SPAWN_LISTEN_PID | paths[i], &process);
        ni_close(w);
        if (CHECK_OK(rc))
        {
            if (paths[i] == NI_SPAWN_SUSPENDED)
                CHECK_OK(ni_process_resume(&process));
            int timed_out;
            char* text = ni_test_read_all(r, 20000, &timed_out);
            char expected[64];
            snprintf(expected, sizeof expected, "%d %d 1 1\n", (int)process.pid, (int)process.pid);
            if (!CHECK(strcmp(text, expected) == 0))
                fprintf(stderr, "got \"%s\", expected \"%s\"\n", text, expected);
            free(text);
            int32_t exited, code;
            CHECK_OK(ni_wait(&process, -1, &exited, &code));
            CHECK_OK(ni_process_close(&process));
        }
        ni_close(r);
    }
    CHECK(strcmp(old_entry, "LISTEN_PID=999999") == 0 && strcmp(envp[0], "A=1") == 0);
    /* Without envp: this process's environment, with the entry added. */
    ni_handle r, w;
    const char* show[] = { "/bin/sh", "-c", "echo $$ $LISTEN_PID", NULL };
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    int rc = ni_spawn(show[0], show, NULL, NULL, m, 1, NI_SPAWN_LISTEN_PID, &process);
    ni_close(w);
    if (CHECK_OK(rc))
    {
        int timed_out;
        char* text = ni_test_read_all(r, 20000, &timed_out);
        char expected[64];
        snprintf(expected, sizeof expected, "%d %d\n", (int)process.pid, (int)process.pid);
        CHECK(strcmp(text, expected) == 0);
        free(text);
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    ni_close(r);
}
#endif

/* ---- Windows: the handle list, handle values on the command line, the environment block, the race ---- */

#ifdef _WIN32
/* The probe's line i (0-based) of `output`: its value as the child got it and the description. */
static int probe_line_at(const char* output, size_t i, unsigned long long* value, char* description, size_t size)
{
    const char* line = output;
    while (i-- > 0 && line != NULL)
        line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1 : NULL;
    if (line == NULL || *line == '\0')
        return 0;
    char* end;
    *value = strtoull(line, &end, 0);
    if (*end != ' ')
        return 0;
    const char* text = end + 1;
    size_t length = strcspn(text, "\n");
    snprintf(description, size, "%.*s", (int)length, text);
    return 1;
}

/* Whether the probe's line i describes `ours`: the child holds the very object under the value it was told. */
static int probe_line_is(const char* output, size_t i, ni_handle ours)
{
    static char mine[NI_TEST_DESCRIPTION_MAX], theirs[NI_TEST_DESCRIPTION_MAX];
    unsigned long long value;
    ni_test_describe_handle(ours, mine, sizeof mine);
    return strcmp(mine, "-") != 0 && probe_line_at(output, i, &value, theirs, sizeof theirs) && strcmp(mine, theirs) == 0;
}

/* Runs the probe with `args`, `passed` mapped under its own value; its output, the exit code checked. */
static char* run_probe(const char* const* args, ni_handle passed, int32_t flags)
{
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, args, argv);
    ni_fd_mapping m[] = { { passed, NI_SPAWN_SAME_NUMBER } };
    int32_t code = -1;
    char* output = run(argv, NULL, NULL, m, 1, flags, &code);
    CHECK_INT(code, 0);
    return output;
}

static void child_gets_only_the_listed(void)
{
    /* Listed, non-inheritable here: a pipe end. Not listed, inheritable on purpose: another pipe end. */
    ni_handle ours_r, ours_w, control_r, control_w;
    if (!CHECK_OK(ni_pipe(&ours_r, &ours_w)) || !CHECK_OK(ni_pipe(&control_r, &control_w)))
        return;
    CHECK_INT(ni_test_write(ours_w, "marked", 6), 6); /* "pipe 6": this pipe, not any pipe */
    CHECK_OK(ni_set_inheritable(control_r, 1));
    CHECK(ni_test_child_sees(control_r)); /* the control is visible to an ordinary child */

    char ours_arg[32], control_arg[32];
    snprintf(ours_arg, sizeof ours_arg, "0x%llx", (unsigned long long)ours_r);
    snprintf(control_arg, sizeof control_arg, "0x%llx", (unsigned long long)control_r);
    const char* args[] = { ours_arg, control_arg, NULL };
    char* output = run_probe(args, ours_r, 0);
    if (CHECK(output != NULL))
    {
        /* Line 0: ours, under the value the child got (its argument rewritten); line 1: the control's
           value, which the child must not hold. */
        unsigned long long value = 0;
        char seen[64] = "";
        if (!CHECK(probe_line_is(output, 0, ours_r)) |
            !CHECK(probe_line_at(output, 1, &value, seen, sizeof seen) && value == (unsigned long long)control_r &&
                   !ni_test_probe_holds(output, control_r)))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    CHECK_INT(ni_test_inherit_flag(ours_r), 0); /* never made inheritable here */
    ni_close(ours_r), ni_close(ours_w), ni_close(control_r), ni_close(control_w);
}

/* A passed handle's value on the command line, as a whole argument, in decimal or 0x hex (also in raw
   Arguments text), becomes the child's value; other numbers stay as they are. */
static void handle_values_are_rewritten(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    CHECK_INT(ni_test_write(w, "rewritten", 9), 9);
    char decimal[32], hex[32], upper[32];
    snprintf(decimal, sizeof decimal, "%llu", (unsigned long long)r);
    snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)r);
    snprintf(upper, sizeof upper, "0X%llX", (unsigned long long)r);
    const char* args[] = { decimal, hex, upper, "1000001", NULL };
    char* output = run_probe(args, r, 0);
    if (CHECK(output != NULL))
    {
        if (!CHECK(probe_line_is(output, 0, r)) | !CHECK(probe_line_is(output, 1, r)) |
            !CHECK(probe_line_is(output, 2, r)) | !CHECK(strstr(output, "\n1000001 -\n") != NULL) |
            !CHECK(strstr(output, "0X") != NULL && strstr(output, "\n0x") != NULL))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    char raw[96];
    snprintf(raw, sizeof raw, "%s \"%s\" 1000001", hex, decimal);
    const char* raw_args[] = { raw, NULL };
    output = run_probe(raw_args, r, NI_SPAWN_RAW_ARGUMENTS);
    if (CHECK(output != NULL))
    {
        if (!CHECK(probe_line_is(output, 0, r)) | !CHECK(probe_line_is(output, 1, r)) |
            !CHECK(strstr(output, "\n1000001 -\n") != NULL))
            fprintf(stderr, "probe said:\n%s", output);
        free(output);
    }
    ni_close(r), ni_close(w);
}

/* CreateProcessW wants the block sorted by name, case-insensitively; the caller's array stays as it was. */
static void environment_is_sorted(void)
{
    const char* envp[] = { "zeta=1", "NI_TEST_ROLE=env", "b=2", "SystemRoot=C:\\windows", "A=3", "_under=4", "Alpha=5", NULL };
    const char* before[8];
    memcpy(before, envp, sizeof envp);
    const char* argv[] = { ni_test_self(), NULL };
    int32_t code = -1;
    char* output = run(argv, envp, NULL, NULL, 0, 0, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        /* wine adds its own variables to the block and moves SystemRoot to its end: only the order of
           the others is ours. By uppercase code units: '_' (0x5F) after the letters, "A" before "Alpha". */
        char ordered[256] = "";
        for (const char* p = strchr(output, '['); p != NULL; p = strchr(p + 1, '['))
        {
            size_t length = strcspn(p, "]") + 1;
            static const char* const ours[] = { "[A]", "[Alpha]", "[b]", "[NI_TEST_ROLE]", "[zeta]", "[_under]" };
            for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
                if (strlen(ours[i]) == length && memcmp(p, ours[i], length) == 0)
                    strncat(ordered, p, length);
        }
        const char* expected = "[A][Alpha][b][NI_TEST_ROLE][zeta][_under]";
        if (!CHECK(strcmp(ordered, expected) == 0))
            fprintf(stderr, "got      %s\nexpected %s\n(the whole block: %s)\n", ordered, expected, output);
        free(output);
    }
    CHECK(memcmp(before, envp, sizeof envp) == 0);
}

/*
 * The helper process lives as long as this process, and so do its two handles here (the process and
 * the job that ends it): started before the first case, they do not count as any case's leak. It is
 * started by what starts it in real use, a spawn that passes a handle.
 */
static void warm_up(void)
{
    char self[MAX_PATH];
    GetModuleFileNameA(NULL, self, MAX_PATH); /* before main: the framework knows nothing yet */
    const char* argv[] = { self, "0", NULL };
    ni_handle r, w;
    if (ni_pipe(&r, &w) != 0)
        return;
    ni_fd_mapping m[] = { { w, 1 } };
    ni_process process;
    if (ni_spawn(self, argv, role_env("exit"), NULL, m, 1, 0, &process) == 0)
    {
        int32_t exited, code;
        ni_wait(&process, 30000, &exited, &code);
        ni_process_close(&process);
    }
    ni_close(r), ni_close(w);
}

__attribute__((constructor)) static void start_the_helper(void)
{
    if (getenv("NI_TEST_ROLE") == NULL) /* not in a child's role */
        warm_up();
}

/* ---- The reverse race: another thread's CreateProcess(bInheritHandles=TRUE) without a list. ---- */

struct racer
{
    const ni_handle* watched; /* our mapped handles, whose values the racer's children are asked about */
    size_t watched_count;
    volatile LONG stop;
    volatile LONG children, leaks;
};

/* As Process.Start: CreateProcessW with bInheritHandles=TRUE and no handle list, in a loop. Each child
   (the probe) says what it holds under our mapped handles' values. */
static DWORD WINAPI race(void* parameter)
{
    struct racer* racer = parameter;
    while (!racer->stop)
    {
        char* output = ni_test_probe(racer->watched, racer->watched_count);
        if (output == NULL)
            break;
        for (size_t i = 0; i < racer->watched_count; i++)
        {
            if (ni_test_probe_holds(output, racer->watched[i]))
                InterlockedIncrement(&racer->leaks);
        }
        InterlockedIncrement(&racer->children);
        free(output);
    }
    return 0;
}

/* What ni_spawn did before the helper: each listed handle inheritable for the CreateProcessW call only. */
static int32_t spawn_the_old_way(const char* self, ni_handle in, ni_handle extra, ni_process* result)
{
    wchar_t line[MAX_PATH + 8];
    swprintf(line, sizeof line / sizeof line[0], L"\"%hs\" 0", self);
    HANDLE list[2] = { (HANDLE)in, (HANDLE)extra };
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 1, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = malloc(size);
    if (attributes == NULL || !InitializeProcThreadAttributeList(attributes, 1, 0, &size) ||
        !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, sizeof list, NULL, NULL))
    {
        free(attributes);
        return (int32_t)GetLastError();
    }
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = sizeof si;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = (HANDLE)in;
    si.lpAttributeList = attributes;
    static wchar_t env[] = L"NI_TEST_ROLE=exit\0SystemRoot=C:\\windows\0";
    PROCESS_INFORMATION pi;
    SetHandleInformation((HANDLE)in, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation((HANDLE)extra, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    BOOL ok = CreateProcessW(NULL, line, NULL, NULL, TRUE, EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT, env,
                             NULL, &si.StartupInfo, &pi);
    DWORD error = GetLastError();
    SetHandleInformation((HANDLE)in, HANDLE_FLAG_INHERIT, 0);
    SetHandleInformation((HANDLE)extra, HANDLE_FLAG_INHERIT, 0);
    DeleteProcThreadAttributeList(attributes);
    free(attributes);
    if (!ok)
        return (int32_t)error;
    CloseHandle(pi.hThread);
    result->pid = pi.dwProcessId;
    result->handle = (ni_handle)pi.hProcess;
    return 0;
}

/* Spawns the way `old_way` says until `deadline` (or, for the old way, the first leak) while the racer
   runs; the racer's leak count. */
static LONG race_phase(int old_way, ni_handle in, ni_handle extra, DWORD milliseconds, LONG* children, int* spawns)
{
    const char* self = ni_test_self();
    ni_handle watched[2] = { in, extra };
    struct racer racer = { watched, 2, 0, 0, 0 };
    HANDLE thread = CreateThread(NULL, 0, race, &racer, 0, NULL);
    if (!CHECK(thread != NULL))
        return 0;
    const char* argv[] = { self, "0", NULL };
    const char* const* envp = role_env("exit");
    ni_fd_mapping m[] = { { in, 0 }, { extra, NI_SPAWN_SAME_NUMBER } };
    ULONGLONG end = GetTickCount64() + milliseconds;
    *spawns = 0;
    while (GetTickCount64() < end && !(old_way && racer.leaks > 0))
    {
        ni_process process;
        int32_t rc = old_way ? spawn_the_old_way(self, in, extra, &process) : ni_spawn(self, argv, envp, NULL, m, 2, 0, &process);
        if (!CHECK_OK(rc))
            break;
        int32_t exited = 0, code = -1;
        CHECK_OK(ni_wait(&process, 30000, &exited, &code));
        CHECK_INT(code, 0);
        ni_process_close(&process);
        ++*spawns;
    }
    racer.stop = 1;
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    *children = racer.children;
    return racer.leaks;
}

static void process_start_never_gets_mapped_handles(void)
{
    /* Two pipes with distinct contents, so that "pipe 5" / "pipe 9" in a child can only be these. */
    ni_handle in_r, in_w, extra_r, extra_w;
    if (!CHECK_OK(ni_pipe(&in_r, &in_w)) || !CHECK_OK(ni_pipe(&extra_r, &extra_w)))
        return;
    CHECK_INT(ni_test_write(in_w, "stdin", 5), 5);
    CHECK_INT(ni_test_write(extra_w, "extra one", 9), 9);

    LONG children = 0;
    int spawns = 0;
    LONG leaks = race_phase(0, in_r, extra_r, 6000, &children, &spawns);
    printf("ni_spawn: %d spawns, %ld racing children, %ld leaks\n", spawns, (long)children, (long)leaks);
    CHECK(spawns > 5 && children > 5); /* the race ran */
    CHECK_INT(leaks, 0);

    /* The negative control: the same race against the old way must leak, or this test proves nothing. */
    leaks = race_phase(1, in_r, extra_r, 30000, &children, &spawns);
    printf("old way: %d spawns, %ld racing children, %ld leaks\n", spawns, (long)children, (long)leaks);
    if (!CHECK(leaks > 0))
        fprintf(stderr, "the old way never leaked into %ld racing children: the race was not exercised\n", (long)children);
    CHECK_INT(ni_test_inherit_flag(in_r), 0);
    CHECK_INT(ni_test_inherit_flag(extra_r), 0);
    ni_close(in_r), ni_close(in_w), ni_close(extra_r), ni_close(extra_w);
}
#endif

NI_TEST_MAIN(
    NI_TEST(argv_round_trips),
    NI_TEST(exit_codes),
    NI_TEST(exec_failures_are_errors),
    NI_TEST(bad_arguments),
    NI_TEST(wait_timeout_and_kill),
    NI_TEST(kill_after_exit),
    NI_TEST(stdout_eof_while_a_sibling_runs),
    NI_TEST_POSIX(child_gets_exactly_the_mapped),
    NI_TEST_POSIX(mappings_do_not_clobber_each_other),
    NI_TEST_POSIX(targets_at_the_top_of_the_range),
    NI_TEST_POSIX(inherit_stdio_adds_the_open_standard_streams),
    NI_TEST_POSIX(environment_and_directory),
    NI_TEST_POSIX(pidfd_when_the_kernel_has_one),
    NI_TEST_POSIX(listening_socket_as_fd_3),
    NI_TEST_POSIX(exact_while_other_threads_fork),
    NI_TEST_POSIX(wait_for_exit_leaves_the_code_to_ni_wait),
    NI_TEST_POSIX(exit_code_after_other_code_collected_the_child),
    NI_TEST_LINUX(wait_with_zero_timeout_never_sleeps),
    NI_TEST_LINUX(suspended_child_waits_until_resumed),
    NI_TEST_LINUX(suspended_failures_are_errors),
    NI_TEST_POSIX(suspended_child_never_resumed),
    NI_TEST_LINUX(process_group_and_session),
    NI_TEST_LINUX(detached_child_outlives_the_session),
    NI_TEST_LINUX(kill_on_parent_exit_holds),
    NI_TEST_LINUX(kill_on_parent_exit_refuses_an_orphan),
    NI_TEST_LINUX(kill_tree_reaches_every_descendant),
    NI_TEST_LINUX(kill_tree_while_a_grandchild_forks),
    NI_TEST_LINUX(kill_tree_and_a_grandchild_that_called_setsid),
    NI_TEST_LINUX(signal_group_reaches_the_group),
    NI_TEST_POSIX(tree_bad_arguments),
    NI_TEST_POSIX(listen_pid_is_the_childs_own),
    NI_TEST_WINDOWS(child_gets_only_the_listed),
    NI_TEST_WINDOWS(handle_values_are_rewritten),
    NI_TEST_WINDOWS(environment_is_sorted),
    NI_TEST_WINDOWS(process_start_never_gets_mapped_handles))
