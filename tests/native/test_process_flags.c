/* The process flags of ni_spawn and ni_process_resume: a suspended child, process groups and sessions, detached
   children, LISTEN_PID. Kill on parent exit: test_parent_exit.c; trees: test_process_tree.c. */
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
#  include <winternl.h>
#endif
#ifdef __linux__
#  include <sys/ioctl.h>
#  include <sys/prctl.h>
#  include <sys/syscall.h>
#endif

/* ---- NI_SPAWN_SUSPENDED and ni_process_resume ---- */

/* A program that prints "ran": sh on POSIX (so that execve changes the process's name), this program in its argv
   role on Windows. */
#ifdef _WIN32
#  define RAN_OUTPUT "[ran]"
#else
#  define RAN_OUTPUT "ran\n"
static const char* const echo_ran[] = { "/bin/sh", "-c", "echo ran", NULL };
#endif

/* Starts the program that prints "ran" suspended, its stdout a new pipe whose read end goes to *r; 1 if it did. */
static int start_suspended_echo(ni_handle* r, ni_process* process)
{
    ni_handle w;
    if (!CHECK_OK(ni_pipe(r, &w)))
        return 0;
    ni_fd_mapping m[] = { { w, 1 } };
#ifdef _WIN32
    const char* args[] = { "ran", NULL };
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), args, argv);
    int32_t rc = ni_spawn(argv[0], argv, ni_test_role_env("argv"), NULL, m, 1, NI_SPAWN_SUSPENDED, process);
#else
    int32_t rc = ni_spawn(echo_ran[0], echo_ran, NULL, NULL, m, 1, NI_SPAWN_SUSPENDED, process);
#endif
    ni_close(w);
    if (!CHECK_OK(rc))
        ni_close(*r);
    return rc == 0;
}

#ifdef __linux__
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
#endif

static void suspended_child_waits_until_resumed(void)
{
    ni_handle r;
    ni_process process;
    if (!start_suspended_echo(&r, &process))
        return;
    /* ni_spawn returned while the child waits: it is ready (POSIX: its descriptors in place, the rest closed, not
       just marked) and has not run the program. */
    CHECK(process.resume != NI_INVALID_HANDLE && ni_test_inherit_flag(process.resume) == 0);
    CHECK(process.job == NI_INVALID_HANDLE);
#ifdef __linux__
    CHECK(has_our_name((int)process.pid));
    CHECK_INT(ni_test_descriptors_of((int)process.pid, 0), 2); /* its stdout and the resume socket */
#endif
    int timed_out;
    char* text = ni_test_read_all(r, 300, &timed_out);
    CHECK(timed_out && text[0] == '\0'); /* nothing written, no end of file: the child still holds the pipe */
    free(text);
    int32_t exited = -1, code = -1;
    CHECK_OK(ni_wait(&process, 0, &exited, &code));
    CHECK_INT(exited, 0);

    CHECK_OK(ni_process_resume(&process));
    CHECK_INT(process.resume, NI_INVALID_HANDLE);
    CHECK_RC(ni_process_resume(&process), NI_TEST_EINVAL); /* once only */
    text = ni_test_read_all(r, 20000, &timed_out);
    if (!CHECK(strcmp(text, RAN_OUTPUT) == 0))
        fprintf(stderr, "got \"%s\"\n", text);
    free(text);
    CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
    CHECK_INT(code, 0);
    CHECK_OK(ni_process_close(&process));
    ni_close(r);
    /* Not suspended: there is nothing to resume. */
    const char* args[] = { "0", NULL };
    if (CHECK_OK(ni_test_start_role("exit", args, NI_INVALID_HANDLE, 0, &process)))
    {
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_RC(ni_process_resume(&process), NI_TEST_EINVAL);
        CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    CHECK_RC(ni_process_resume(NULL), NI_TEST_EINVAL);
}

/* Failures up to the wait are ni_spawn's. POSIX: execve's are ni_process_resume's, and leave no process. Windows:
   CreateProcessW finds and maps the program before the child exists, so a missing one is ni_spawn's error too. */
static void suspended_failures_are_errors(void)
{
    char missing[NI_TEST_PATH_MAX];
    ni_test_path(missing, "no-such-program");
    const char* argv[] = { "x", NULL };
    const char* program = NI_TEST_CODE("/bin/sh", ni_test_self());
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn(program, argv, NULL, missing, NULL, 0, NI_SPAWN_SUSPENDED, &process),
             NI_TEST_CODE(ENOENT, ERROR_DIRECTORY)); /* the directory */
    CHECK_INT(process.pid, 12345);
#ifdef _WIN32
    CHECK_RC(ni_spawn(missing, argv, NULL, NULL, NULL, 0, NI_SPAWN_SUSPENDED, &process), ERROR_FILE_NOT_FOUND);
    CHECK_INT(process.pid, 12345);
#else
    CHECK(ni_test_no_children_left());
    if (!CHECK_OK(ni_spawn(missing, argv, NULL, NULL, NULL, 0, NI_SPAWN_SUSPENDED, &process)))
        return;
#  ifdef __linux__
    CHECK(ni_test_alive((int)process.pid)); /* waiting: the program is only looked for at execve */
#  endif
    CHECK_RC(ni_process_resume(&process), ENOENT);
    CHECK_INT(process.resume, NI_INVALID_HANDLE);
    CHECK(ni_test_no_children_left()); /* collected: no zombie, no child that "exited 127" */
    CHECK_OK(ni_process_close(&process));
#endif
}

/* What waits for a child once ni_process_close released it: POSIX waits by pid; Windows on a handle of its own. */
static ni_process waitable(const ni_process* process)
{
    ni_process copy = { process->pid, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
#ifdef _WIN32
    CHECK_OK(ni_dup(process->handle, &copy.handle));
#endif
    return copy;
}

/* A suspended child that is never resumed: released, it exits 127 without running the program (POSIX: it reads
   the end of its resume socket; Windows: ni_process_close ends it so); killed, it dies of the kill, and a later
   resume says it is gone (ESRCH, ERROR_NOTHING_TO_TERMINATE). */
static void suspended_child_never_resumed(void)
{
    ni_handle r;
    ni_process process;
    int32_t exited = -1, code = -1;
    if (start_suspended_echo(&r, &process))
    {
        ni_process released = waitable(&process);
        CHECK_OK(ni_process_close(&process));
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_OK(ni_wait(&released, 20000, &exited, &code));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 127);
        int timed_out;
        char* text = ni_test_read_all(r, 20000, &timed_out);
        CHECK(!timed_out && text[0] == '\0'); /* the program never ran */
        free(text);
        ni_close(r);
        CHECK_OK(ni_process_close(&released));
    }
    if (start_suspended_echo(&r, &process))
    {
        ni_close(r);
        CHECK_OK(ni_kill(&process, SIGTERM));
        CHECK_OK(ni_wait(&process, 20000, &exited, &code));
        CHECK_INT(code, NI_TEST_CODE(128 + SIGTERM, -1));
        CHECK_RC(ni_process_resume(&process), NI_TEST_CODE(ESRCH, ERROR_NOTHING_TO_TERMINATE));
        CHECK_INT(process.resume, NI_INVALID_HANDLE);
        CHECK_OK(ni_process_close(&process));
    }
#ifndef _WIN32
    CHECK(ni_test_no_children_left());
#endif
}

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

#endif

#ifndef _WIN32
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

/* ---- Windows: groups, jobs, detached children, LISTEN_PID ---- */

#ifdef _WIN32
/* The helper that the first spawn passing a handle starts exists before the first case. */
NI_TEST_WARM_UP(0)

#define SLEEP_MS "60000" /* the children that must be ended by what is tested: they would otherwise outlive it */

/* NI_TEST_ROLE=console_flags: whether this process ignores Ctrl-C, which CREATE_NEW_PROCESS_GROUP sets for a new
   group: RTL_USER_PROCESS_PARAMETERS.ConsoleFlags (bit 0), the pointer-sized slot after ConsoleHandle, which
   MinGW's winternl.h calls Reserved2[1]. */
static int console_flags_role(void)
{
    typedef NTSTATUS(NTAPI * query_fn)(HANDLE, PROCESSINFOCLASS, PVOID, ULONG, PULONG);
    query_fn query = (query_fn)(void (*)(void))GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "NtQueryInformationProcess");
    PROCESS_BASIC_INFORMATION basic;
    if (query == NULL || query(GetCurrentProcess(), ProcessBasicInformation, &basic, sizeof basic, NULL) != 0)
        return 3;
    ULONG flags;
    memcpy(&flags, &basic.PebBaseAddress->ProcessParameters->Reserved2[1], sizeof flags);
    printf("ignores ctrl-c: %d\n", (int)(flags & 1));
    return 0;
}

/* NI_SPAWN_NEW_PROCESS_GROUP, NI_SPAWN_PROCESS_TREE and NI_SPAWN_DETACHED start a new process group (the child
   ignores Ctrl-C, as Windows makes a new group's leader do); the first two give the child a job of its own
   (result->job, what ni_signal_group and ni_kill_tree act on), which holds it. */
static void process_group_and_job(void)
{
    const struct { int32_t flags; int group, job; } cases[] = {
        { 0, 0, 0 }, { NI_SPAWN_NEW_PROCESS_GROUP, 1, 1 }, { NI_SPAWN_PROCESS_TREE, 1, 1 }, { NI_SPAWN_DETACHED, 1, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        ni_handle out;
        ni_process process;
        if (!ni_test_start_reporting("console_flags", NULL, cases[i].flags, &out, &process))
            continue;
        char* line = ni_test_first_line(out);
        char expected[32];
        snprintf(expected, sizeof expected, "ignores ctrl-c: %d\n", cases[i].group);
        BOOL in_job = FALSE;
        if (!CHECK(strcmp(line, expected) == 0) | !CHECK_INT(process.job != NI_INVALID_HANDLE, cases[i].job) ||
            (cases[i].job && (!CHECK_INT(ni_test_inherit_flag(process.job), 0) ||
                              !CHECK(IsProcessInJob((HANDLE)process.handle, (HANDLE)process.job, &in_job) && in_job))))
            fprintf(stderr, "case %zu (flags 0x%x): \"%s\"\n", i, (unsigned)cases[i].flags, line);
        free(line);
        int32_t exited, code;
        CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
        CHECK_INT(code, 0);
        CHECK_OK(ni_process_close(&process));
        ni_close(out);
    }
    const char* argv[] = { ni_test_self(), NULL };
    ni_process process;
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_DETACHED | NI_SPAWN_KILL_ON_PARENT_EXIT, &process),
             ERROR_INVALID_PARAMETER);
}

/* NI_TEST_ROLE=detacher: starts a sleeping child with NI_SPAWN_DETACHED and says "<its pid> <in a job: 0/1>". */
static int detacher_role(void)
{
    const char* args[] = { SLEEP_MS, NULL };
    ni_process child;
    int32_t rc = ni_test_start_role("sleep", args, NI_INVALID_HANDLE, NI_SPAWN_DETACHED, &child);
    if (rc != 0)
        return 3;
    BOOL in_job = TRUE;
    IsProcessInJob((HANDLE)child.handle, NULL, &in_job);
    printf("%lld %d\n", (long long)child.pid, (int)in_job);
    ni_process_close(&child);
    return 0;
}

/* A detached child breaks away from the job its parent is in, where that job allows it, and outlives it then; where
   it does not, the child still starts, in that job. The parent here is this program in its detacher role, put in a
   kill-on-close job of the test's own, which is then closed. And the child holds nothing of its parent's but what
   was mapped: the probe, detached, does not hold an inheritable pipe of ours. */
static void detached_child_leaves_the_job(void)
{
    for (int allowed = 1; allowed >= 0; allowed--)
    {
        HANDLE job = CreateJobObjectW(NULL, NULL);
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
        memset(&limits, 0, sizeof limits);
        limits.BasicLimitInformation.LimitFlags =
            JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | (allowed ? JOB_OBJECT_LIMIT_BREAKAWAY_OK : 0);
        ni_handle out;
        ni_process parent;
        if (!CHECK(job != NULL) ||
            !CHECK(SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits)) ||
            !ni_test_start_reporting("detacher", NULL, NI_SPAWN_SUSPENDED, &out, &parent))
            return;
        CHECK(AssignProcessToJobObject(job, (HANDLE)parent.handle));
        CHECK_OK(ni_process_resume(&parent));
        char* line = ni_test_first_line(out);
        long long pid = 0;
        int in_job = -1;
        HANDLE child = sscanf(line, "%lld %d", &pid, &in_job) == 2 ? ni_test_open_pid(pid) : NULL;
        if (!CHECK(child != NULL) | !CHECK_INT(in_job, !allowed))
            fprintf(stderr, "allowed %d: the detacher said \"%s\"\n", allowed, line);
        free(line);
        int32_t exited, code;
        CHECK_OK(ni_wait(&parent, NI_TEST_WAIT_MS, &exited, &code));
        CHECK_INT(code, 0);
        CHECK_OK(ni_process_close(&parent));
        ni_close(out);
        CloseHandle(job); /* kills what is left in it */
        if (child != NULL)
            CHECK_INT(WaitForSingleObject(child, allowed ? 500 : 10000), allowed ? WAIT_TIMEOUT : WAIT_OBJECT_0);
        ni_test_end_process(child);
    }
    ni_handle control_r, control_w;
    if (!CHECK(ni_test_plain_pipe(&control_r, &control_w)))
        return;
    char value[32];
    snprintf(value, sizeof value, "0x%llx", (unsigned long long)control_r);
    const char* args[] = { value, NULL };
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(NULL, args, argv);
    int32_t code = -1;
    char* output = ni_test_run(argv, NULL, NULL, NULL, 0, NI_SPAWN_DETACHED, &code);
    if (CHECK(output != NULL))
    {
        CHECK_INT(code, 0);
        CHECK(ni_test_probe_lines(output) == 1 && !ni_test_probe_holds(output, control_r)); /* it ran, without ours */
        free(output);
    }
    CHECK(ni_test_child_sees(control_r)); /* the control: an ordinary child does hold it */
    ni_close(control_r), ni_close(control_w);
}
/* LISTEN_PID is sd_listen_fds(3)'s; Windows hands sockets over with WSADuplicateSocketW. */
static void listen_pid_is_not_supported(void)
{
    const char* argv[] = { ni_test_self(), NULL };
    ni_process process = { 12345, 678, 679, 680 };
    CHECK_RC(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_LISTEN_PID, &process), ERROR_NOT_SUPPORTED);
    CHECK_INT(process.pid, 12345);
}

NI_TEST_ROLES({ "console_flags", console_flags_role }, { "detacher", detacher_role })
#endif

NI_TEST_MAIN(
    NI_TEST(suspended_child_waits_until_resumed),
    NI_TEST(suspended_failures_are_errors),
    NI_TEST(suspended_child_never_resumed),
    NI_TEST_LINUX(process_group_and_session),
    NI_TEST_LINUX(detached_child_outlives_the_session),
    NI_TEST_POSIX(listen_pid_is_the_childs_own),
    NI_TEST_WINDOWS(process_group_and_job),
    NI_TEST_WINDOWS(detached_child_leaves_the_job),
    NI_TEST_WINDOWS(listen_pid_is_not_supported))
