/* ni_wait_status, ni_signal_number, ni_can_execute: how a child ended, the portable signal numbers, and the
   PATH search's execute test by the caller's class (POSIX); Windows has no signals (ni_kill terminates), and its
   search takes any file that exists. */
#include "ni_test.h"

#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <errno.h>
#  include <grp.h>
#  include <libgen.h>
#  include <signal.h>
#  include <stdlib.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <unistd.h>
#endif

#ifndef _WIN32
static void signal_number_translates_the_portable_names(void)
{
    const int32_t portable[] = { NI_SIGHUP, NI_SIGINT, NI_SIGQUIT, NI_SIGTERM, NI_SIGCHLD, NI_SIGCONT,
                                 NI_SIGWINCH, NI_SIGTTIN, NI_SIGTTOU, NI_SIGTSTP, NI_SIGKILL };
    const int system[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGCONT, SIGWINCH, SIGTTIN, SIGTTOU, SIGTSTP, SIGKILL };
    for (size_t i = 0; i < sizeof portable / sizeof portable[0]; i++)
        CHECK_INT(ni_signal_number(portable[i]), system[i]);
    CHECK_INT(ni_signal_number(SIGUSR1), SIGUSR1); /* a system number is its own */
    CHECK_INT(ni_signal_number(0), 0);
    CHECK_INT(ni_signal_number(-12), 0);
    CHECK_INT(ni_signal_number(NSIG), 0);
    CHECK_INT(ni_signal_number(-1000000), 0);
}

/* Runs `/bin/sh -c script`, optionally sends `kill` (a system number, 0 for none) once it runs, and
   collects it with ni_wait_status. */
static void run_and_collect(const char* script, int kill_with, int32_t* code, int32_t* signal)
{
    const char* argv[] = { "/bin/sh", "-c", script, NULL };
    ni_process process;
    *code = *signal = -1000;
    if (!CHECK_OK(ni_spawn("/bin/sh", argv, NULL, NULL, NULL, 0, NI_SPAWN_DEFAULT_SIGPIPE, &process)))
        return;
    if (kill_with != 0)
        CHECK_OK(ni_kill(&process, kill_with));
    int32_t exited = 0;
    CHECK_OK(ni_wait_status(&process, -1, &exited, code, signal));
    CHECK_INT(exited, 1);
    ni_process_close(&process);
}

static void wait_status_says_which_signal_ended_the_child(void)
{
    int32_t code, signal;
    run_and_collect("exit 3", 0, &code, &signal);
    CHECK_INT(code, 3);
    CHECK_INT(signal, 0);
    run_and_collect("exit 143", 0, &code, &signal); /* the same code as SIGTERM's, but an exit */
    CHECK_INT(code, 143);
    CHECK_INT(signal, 0);
    run_and_collect("kill -TERM $$", 0, &code, &signal);
    CHECK_INT(code, 128 + SIGTERM);
    CHECK_INT(signal, NI_SIGTERM);
    run_and_collect("kill -USR1 $$", 0, &code, &signal); /* no portable name: the system's number */
    CHECK_INT(code, 128 + SIGUSR1);
    CHECK_INT(signal, SIGUSR1);
    run_and_collect("sleep 30", ni_signal_number(NI_SIGKILL), &code, &signal);
    CHECK_INT(code, 128 + SIGKILL);
    CHECK_INT(signal, NI_SIGKILL);
}

static void wait_status_checks_its_arguments(void)
{
    ni_process none = { 1, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    int32_t exited, code;
    CHECK_RC(ni_wait_status(&none, 0, &exited, &code, NULL), EINVAL);
    CHECK_RC(ni_wait_status(NULL, 0, &exited, &code, &code), EINVAL);
}

/* Writes an empty file with `mode` (and owner root where we are root). */
static void file_with_mode(const char* name, int mode, char path[NI_TEST_PATH_MAX])
{
    ni_test_path(path, name);
    CHECK_INT(ni_test_write_file(path, "#!/bin/sh\n", 10, mode), 0);
}

static int32_t can_execute(const char* path)
{
    int32_t executable = -1;
    CHECK_OK(ni_can_execute(path, &executable));
    return executable;
}

static void can_execute_follows_the_permission_bits(void)
{
    char none[NI_TEST_PATH_MAX], user[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX];
    file_with_mode("none", 0644, none);
    file_with_mode("user", 0700, user);
    ni_test_path(dir, "dir");
    ni_test_path(missing, "missing");
    CHECK_INT(mkdir(dir, 0755), 0);
    CHECK_INT(can_execute(none), 0); /* no execute bit: not even root */
    CHECK_INT(can_execute(user), 1); /* ours (or root's) */
    CHECK_INT(can_execute(dir), 0);  /* a directory is no program, whatever its bits */
    CHECK_INT(can_execute(missing), 0);
    CHECK_INT(can_execute("/bin/sh"), 1);
    int32_t executable;
    CHECK_RC(ni_can_execute(NULL, &executable), EINVAL);
    CHECK_RC(ni_can_execute(user, NULL), EINVAL);
    rmdir(dir);
}

/* As root, a child that becomes nobody (uid and gid 65534, no supplementary groups) asks about files of
   root's; its exit code is a bit per answer that differs from the expected one. */
static void can_execute_by_the_callers_class(void)
{
    if (geteuid() != 0)
    {
        ni_test_skip("only root can become another user to see the group and other classes");
        return;
    }
    char owner_only[NI_TEST_PATH_MAX], group_only[NI_TEST_PATH_MAX], other_only[NI_TEST_PATH_MAX], all[NI_TEST_PATH_MAX];
    file_with_mode("owner_only", 0700, owner_only);
    file_with_mode("group_only", 0750, group_only);
    file_with_mode("other_only", 0701, other_only);
    file_with_mode("all", 0755, all);
    char dir[NI_TEST_PATH_MAX];
    strcpy(dir, all);
    CHECK_INT(chmod(dirname(dir), 0711), 0); /* the temp dir (0700) must let nobody reach the files */
    /* As root: any execute bit. */
    CHECK_INT(can_execute(owner_only), 1);
    CHECK_INT(can_execute(other_only), 1);
    pid_t pid = fork();
    if (pid == 0)
    {
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(100);
        int32_t a = -1, b = -1, c = -1, d = -1;
        ni_can_execute(owner_only, &a);
        ni_can_execute(group_only, &b);
        ni_can_execute(other_only, &c);
        ni_can_execute(all, &d);
        _exit((a != 0) | (b != 0) << 1 | (c != 1) << 2 | (d != 1) << 3);
    }
    int status = 0;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
    /* Joining the file's group (root's, 0) turns the group bit on. */
    pid = fork();
    if (pid == 0)
    {
        gid_t root_group = 0;
        if (setgroups(1, &root_group) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(100);
        int32_t b = -1, c = -1;
        ni_can_execute(group_only, &b);
        ni_can_execute(other_only, &c); /* in the group, whose bit is off: no, though other's is on */
        _exit((b != 1) | (c != 0) << 1);
    }
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_INT(WEXITSTATUS(status), 0);
}

#else
static void signal_number_knows_only_kill(void)
{
    CHECK_INT(ni_signal_number(NI_SIGKILL), 9);
    CHECK_INT(ni_signal_number(NI_SIGTERM), 0);
    CHECK_INT(ni_signal_number(NI_SIGINT), 0);
    CHECK_INT(ni_signal_number(15), 0);
    CHECK_INT(ni_signal_number(0), 0);
}

static void wait_status_reports_no_signal(void)
{
    const char* exits[] = { "cmd.exe", "/c", "exit 7", NULL };
    ni_process process;
    int32_t exited = 0, code = -1, signal = -1;
    if (CHECK_OK(ni_spawn(NULL, exits, NULL, NULL, NULL, 0, 0, &process)))
    {
        CHECK_OK(ni_wait_status(&process, -1, &exited, &code, &signal));
        CHECK_INT(exited, 1);
        CHECK_INT(code, 7);
        CHECK_INT(signal, 0);
        ni_process_close(&process);
    }
    const char* thirty_seconds[] = { "30000", NULL };
    if (CHECK_OK(ni_test_start_role("sleep", thirty_seconds, NI_INVALID_HANDLE, 0, &process)))
    {
        CHECK_OK(ni_kill(&process, ni_signal_number(NI_SIGKILL)));
        CHECK_OK(ni_wait_status(&process, -1, &exited, &code, &signal));
        CHECK_INT(code, -1); /* TerminateProcess's code */
        CHECK_INT(signal, 0);
        ni_process_close(&process);
    }
    CHECK_RC(ni_wait_status(&process, 0, &exited, &code, NULL), ERROR_INVALID_PARAMETER);
}

static void can_execute_takes_any_file(void)
{
    char file[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX];
    ni_test_path(file, "data.txt");
    ni_test_path(dir, "dir");
    ni_test_path(missing, "missing.exe");
    CHECK_INT(ni_test_write_file(file, "x", 1, 0644), 0);
    CHECK(CreateDirectoryA(dir, NULL));
    int32_t executable = -1;
    CHECK_OK(ni_can_execute(file, &executable));
    CHECK_INT(executable, 1);
    CHECK_OK(ni_can_execute(dir, &executable));
    CHECK_INT(executable, 0);
    CHECK_OK(ni_can_execute(missing, &executable));
    CHECK_INT(executable, 0);
    CHECK_RC(ni_can_execute(NULL, &executable), ERROR_INVALID_PARAMETER);
    RemoveDirectoryA(dir);
}
#endif

NI_TEST_MAIN(NI_TEST_POSIX(signal_number_translates_the_portable_names),
             NI_TEST_POSIX(wait_status_says_which_signal_ended_the_child),
             NI_TEST_POSIX(wait_status_checks_its_arguments),
             NI_TEST_POSIX(can_execute_follows_the_permission_bits),
             NI_TEST_POSIX(can_execute_by_the_callers_class),
             NI_TEST_WINDOWS(signal_number_knows_only_kill),
             NI_TEST_WINDOWS(wait_status_reports_no_signal),
             NI_TEST_WINDOWS(can_execute_takes_any_file))
