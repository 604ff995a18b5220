/* ni_wait, ni_wait_for_exit, ni_kill, ni_process_close: exit codes, waiting with and without a timeout, a kill
   and a kill after the exit, and (POSIX) a child that other code collected first. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <pthread.h>
#  include <signal.h>
#  include <sys/wait.h>
#endif
#ifdef __linux__
#  include <sys/ioctl.h>
#  include <sys/syscall.h>
#endif

/* Starts this program as a child that exits with `code` and waits for that exit; 1 if it started (then the
   caller closes `process`). */
static int exited_child(const char* code, ni_process* process)
{
    const char* args[] = { code, NULL };
    if (!CHECK_OK(ni_test_start_role("exit", args, NI_INVALID_HANDLE, 0, process)))
        return 0;
    int32_t exited = 0, status = -1;
    CHECK_OK(ni_wait(process, NI_TEST_WAIT_MS, &exited, &status));
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
    CHECK(ni_test_no_children_left());
#endif
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
    if (CHECK_OK(ni_test_start_role("wait", NULL, in_r, 0, &process)))
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

#ifndef _WIN32
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
        CHECK_INT(exited, 1); /* it waited: the child had not exited at the looks above */
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
    CHECK(ni_test_no_children_left());
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
    CHECK(ni_test_no_children_left());
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

#ifdef _WIN32
/* The helper that the first spawn passing a handle starts (wait_timeout_and_kill) exists before the first case. */
NI_TEST_WARM_UP(0)
#endif

NI_TEST_MAIN(
    NI_TEST(exit_codes),
    NI_TEST(wait_timeout_and_kill),
    NI_TEST(kill_after_exit),
    NI_TEST_POSIX(pidfd_when_the_kernel_has_one),
    NI_TEST_POSIX(wait_for_exit_leaves_the_code_to_ni_wait),
    NI_TEST_POSIX(exit_code_after_other_code_collected_the_child),
    NI_TEST_LINUX(wait_with_zero_timeout_never_sleeps))
