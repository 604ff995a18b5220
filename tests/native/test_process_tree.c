/* ni_kill_tree and ni_signal_group with real process trees: the child and every descendant, one that forks while
   the kill runs, one that left the group, and what cannot be reached. */
#include "ni_test.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <signal.h>
#  include <sys/wait.h>
#endif
#ifdef __linux__
#  include <dirent.h>
#endif

#ifdef __linux__
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

static void tree_bad_arguments(void)
{
    ni_process none = { 0, NI_INVALID_HANDLE, NI_INVALID_HANDLE, NI_INVALID_HANDLE };
    CHECK_RC(ni_kill_tree(NULL, SIGKILL), NI_TEST_EINVAL);
    CHECK_RC(ni_kill_tree(&none, SIGKILL), NI_TEST_EINVAL);
    CHECK_RC(ni_signal_group(NULL, SIGTERM), NI_TEST_EINVAL);
    CHECK_RC(ni_signal_group(&none, SIGTERM), NI_TEST_EINVAL);
    none.pid = -1;
    CHECK_RC(ni_kill_tree(&none, SIGKILL), NI_TEST_EINVAL);
    /* A child that is there: only the signal is wrong. */
    const char* args[] = { "0", NULL };
    ni_process process;
    if (!CHECK_OK(ni_test_start_role("exit", args, NI_INVALID_HANDLE, NI_SPAWN_PROCESS_TREE, &process)))
        return;
    CHECK_RC(ni_kill_tree(&process, 0), NI_TEST_EINVAL);
    CHECK_RC(ni_kill_tree(&process, -9), NI_TEST_EINVAL);
    CHECK_RC(ni_signal_group(&process, -1), NI_TEST_EINVAL);
    int32_t exited, code;
    CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
    CHECK_INT(code, 0);
    CHECK_OK(ni_process_close(&process));
}

/* ---- Windows: a job per child ---- */

#ifdef _WIN32
#define SLEEP_MS "60000" /* the children that must be ended by what is tested: they would otherwise outlive it */

/* Starts this program in `role` with `arg` by a plain CreateProcessW (no handle inherited, standard handles none),
   as any program starts its children, with `creation` flags: 0 and *pid, or the Win32 error. */
static DWORD start_plain(const char* role, const char* arg, DWORD creation, DWORD* pid)
{
    wchar_t self[MAX_PATH], line[MAX_PATH + 64], env[128];
    if (GetModuleFileNameW(NULL, self, MAX_PATH) == 0)
        return GetLastError();
    swprintf(line, sizeof line / sizeof line[0], L"\"%ls\" %hs", self, arg);
    /* "NI_TEST_ROLE=<role>", "SystemRoot=...", and the empty string that ends the block. */
    int n = swprintf(env, sizeof env / sizeof env[0], L"NI_TEST_ROLE=%hs", role) + 1;
    n += swprintf(env + n, sizeof env / sizeof env[0] - (size_t)n, L"SystemRoot=C:\\windows") + 1;
    env[n] = L'\0';
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(self, line, NULL, NULL, FALSE, creation | CREATE_UNICODE_ENVIRONMENT, env, NULL, &si, &pi))
        return GetLastError();
    *pid = pi.dwProcessId;
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    return 0;
}

/* NI_TEST_ROLE=tree: two sleeping children, one that keeps starting sleeping children (the forker), and one
   started with CREATE_BREAKAWAY_FROM_JOB; says "<sleep> <sleep> <forker> <the breakaway's error> <its pid>". */
static int tree_role(void)
{
    DWORD pids[4] = { 0, 0, 0, 0 };
    if (start_plain("sleep", SLEEP_MS, 0, &pids[0]) != 0 || start_plain("sleep", SLEEP_MS, 0, &pids[1]) != 0 ||
        start_plain("forker", "", 0, &pids[2]) != 0)
        return 3;
    DWORD away = start_plain("sleep", SLEEP_MS, CREATE_BREAKAWAY_FROM_JOB, &pids[3]);
    printf("%lu %lu %lu %lu %lu\n", pids[0], pids[1], pids[2], away, pids[3]);
    fflush(stdout);
    Sleep(60000);
    return 5;
}

/* NI_TEST_ROLE=forker: a sleeping child every 50 ms, 30 of them. */
static int forker_role(void)
{
    for (int i = 0; i < 30; i++)
    {
        DWORD pid;
        start_plain("sleep", SLEEP_MS, 0, &pid);
        Sleep(50);
    }
    Sleep(60000);
    return 5;
}

/* NI_TEST_ROLE=break: exits 42 on CTRL_BREAK_EVENT; starts a sleeping child and says its pid. */
static BOOL WINAPI on_break(DWORD event)
{
    if (event == CTRL_BREAK_EVENT)
        ExitProcess(42);
    return FALSE;
}

static int break_role(void)
{
    SetConsoleCtrlHandler(on_break, TRUE);
    DWORD pid;
    if (start_plain("sleep", SLEEP_MS, 0, &pid) != 0)
        return 3;
    printf("%lu\n", pid);
    fflush(stdout);
    Sleep(60000);
    return 5;
}

/* The processes running in `job`: how many, waiting up to 40 s until that is at least `least` (or, with least 0,
   until none is left). 40 s: wine on a loaded machine took more than 20 s to start the 34 processes of the tree
   role (whose processes sleep 60 s, so all of them still run at the end of the wait). */
static DWORD job_running(HANDLE job, DWORD least)
{
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION info;
    memset(&info, 0, sizeof info);
    for (int i = 0; i < 4000; i++)
    {
        if (!QueryInformationJobObject(job, JobObjectBasicAccountingInformation, &info, sizeof info, NULL))
            return (DWORD)-1;
        if (least == 0 ? info.ActiveProcesses == 0 : info.ActiveProcesses >= least)
            break;
        Sleep(10);
    }
    return info.ActiveProcesses;
}

/* Handles of the test's own on every process in `job` (at most `capacity`, up to 256); how many. The list is read
   as the ULONG_PTRs after the two counts (ProcessIdList is declared with one element, which the compiler may take
   at its word). */
static int open_job_processes(HANDLE job, HANDLE* out, int capacity)
{
    ULONG_PTR buffer[258];
    memset(buffer, 0, sizeof buffer);
    if (!QueryInformationJobObject(job, JobObjectBasicProcessIdList, buffer, sizeof buffer, NULL))
        return 0;
    DWORD listed = ((const JOBOBJECT_BASIC_PROCESS_ID_LIST*)buffer)->NumberOfProcessIdsInList;
    const ULONG_PTR* ids = buffer + offsetof(JOBOBJECT_BASIC_PROCESS_ID_LIST, ProcessIdList) / sizeof(ULONG_PTR);
    int n = 0;
    for (DWORD i = 0; i < listed && n < capacity; i++)
        if ((out[n] = ni_test_open_pid((long long)ids[i])) != NULL)
            n++;
    return n;
}

/* Starts the tree role with `flags`: its three children (opened) and what its breakaway said; 1 if all is there. */
static int start_tree(int32_t flags, ni_process* process, HANDLE children[3])
{
    ni_handle out;
    children[0] = children[1] = children[2] = NULL;
    if (!ni_test_start_reporting("tree", NULL, flags, &out, process))
        return 0;
    char* line = ni_test_first_line(out);
    ni_close(out);
    unsigned long pids[3], away_error = 0, away = 0;
    int parsed = sscanf(line, "%lu %lu %lu %lu %lu", &pids[0], &pids[1], &pids[2], &away_error, &away) == 5;
    for (int i = 0; parsed && i < 3; i++)
        children[i] = ni_test_open_pid((long long)pids[i]);
    /* No descendant can leave the job: the breakaway was refused, or the test ends what escaped. */
    HANDLE escaped = parsed && away_error == 0 ? ni_test_open_pid((long long)away) : NULL;
    if (!CHECK(parsed) | !CHECK_INT(away_error, ERROR_ACCESS_DENIED))
        fprintf(stderr, "the tree said \"%s\"\n", line);
    ni_test_end_process(escaped);
    free(line);
    return parsed && children[0] != NULL && children[1] != NULL && children[2] != NULL;
}

/* Three levels: the child, its sleeping children and the forker, the forker's children (started while the kill
   runs, too). A kill of the child alone leaves the rest (the control); the tree kill ends every process in the
   child's job, found by pid before and counted by the job after. Not under wine: wine 8 starts a process by fork,
   and the new Unix process waits on a pipe for its parent to let it go on; ended in between (its parent killed), it
   stays blocked for ever, a process Windows no longer sees and `wineserver -k` does not end (seen 3 times in about
   50 runs; waiting for the whole tree before the kill still hung, twice in one CI run, with wineserver crashing).
   Windows creates a process in one step, inside the job. */
static void kill_tree_reaches_the_whole_job(void)
{
    if (ni_test_wine())
    {
        /* Under wine the job's reach is shown by closing_the_job_leaves_the_tree and by the managed
           ChildProcessTreeTests (a tree kill through the job, an orphan reached only through it). */
        ni_test_skip("wine 8 strands or loses processes killed while it is still creating them (a hang, wineserver crashed)");
        return;
    }
    ni_process process;
    HANDLE children[3];
    if (start_tree(NI_SPAWN_PROCESS_TREE, &process, children))
    {
        HANDLE job = (HANDLE)process.job;
        CHECK(job_running(job, 8) >= 8); /* the forker's children come into the job as they are created */
        int32_t exited, code;
        CHECK_OK(ni_kill(&process, SIGKILL));
        CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
        for (int i = 0; i < 3; i++)
            CHECK_INT(WaitForSingleObject(children[i], 0), WAIT_TIMEOUT); /* the control: they live on */
        HANDLE all[256];
        int n = open_job_processes(job, all, 256);
        CHECK(n >= 7);
        CHECK_OK(ni_kill_tree(&process, SIGKILL)); /* the child has exited: its job still reaches the rest */
        CHECK_INT(job_running(job, 0), 0);
        for (int i = 0; i < n; i++)
        {
            CHECK_INT(WaitForSingleObject(all[i], 10000), WAIT_OBJECT_0);
            CloseHandle(all[i]);
        }
        CHECK_RC(ni_kill_tree(&process, SIGKILL), ERROR_NOTHING_TO_TERMINATE); /* nothing left to reach */
        CHECK_OK(ni_process_close(&process));
    }
    for (int i = 0; i < 3; i++)
        ni_test_end_process(children[i]);
}

/* Every process of the tree role once its forker is done: the child, two sleeps, the forker and its 30. */
#define WHOLE_TREE 34

/* ni_process_close releases the child's job without ending anything in it (the job has no kill-on-close limit), and
   the tree goes on growing in it: the forker's children keep coming into the job until all 34 processes run. */
static void closing_the_job_leaves_the_tree(void)
{
    ni_process process;
    HANDLE children[3];
    if (start_tree(NI_SPAWN_PROCESS_TREE, &process, children))
    {
        HANDLE job = NULL, child = ni_test_open_pid(process.pid);
        CHECK(DuplicateHandle(GetCurrentProcess(), (HANDLE)process.job, GetCurrentProcess(), &job, 0, FALSE,
                              DUPLICATE_SAME_ACCESS));
        CHECK_OK(ni_process_close(&process));
        CHECK_INT(process.job, NI_INVALID_HANDLE);
        /* Waited for whole, also so that the clean-up below ends no process that wine is still starting (see
           kill_tree_reaches_the_whole_job). */
        CHECK_INT(job != NULL ? job_running(job, WHOLE_TREE) : 0, WHOLE_TREE);
        CHECK(child != NULL && WaitForSingleObject(child, 0) == WAIT_TIMEOUT);
        for (int i = 0; i < 3; i++)
            CHECK_INT(WaitForSingleObject(children[i], 0), WAIT_TIMEOUT);
        if (job != NULL)
        {
            TerminateJobObject(job, 1); /* the test's own clean-up */
            CHECK_INT(job_running(job, 0), 0);
            CloseHandle(job);
        }
        ni_test_end_process(child);
    }
    for (int i = 0; i < 3; i++)
        ni_test_end_process(children[i]);
}

/* Starts the break role with `flags`: its sleeping child, opened; 1 if both are there. */
static int start_breakable(int32_t flags, ni_process* process, HANDLE* grandchild)
{
    ni_handle out;
    *grandchild = NULL;
    process->handle = process->resume = process->job = NI_INVALID_HANDLE; /* closable whatever happens */
    if (!ni_test_start_reporting("break", NULL, flags, &out, process))
        return 0;
    char* line = ni_test_first_line(out);
    *grandchild = ni_test_open_pid(atoll(line));
    free(line);
    ni_close(out);
    return CHECK(*grandchild != NULL);
}

/* ni_kill_tree of a child without a job of its own: the child, then its descendants by parent id (as
   Process.Kill(true)); once nothing of it is left, ERROR_NOTHING_TO_TERMINATE. */
static void kill_tree_without_a_job_walks_parent_ids(void)
{
    ni_process process;
    HANDLE grandchild;
    int32_t exited = 0, code = 0;
    if (start_breakable(0, &process, &grandchild))
    {
        CHECK_INT(process.job, NI_INVALID_HANDLE);
        CHECK_OK(ni_kill_tree(&process, SIGKILL));
        CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
        CHECK_INT(code, -1);
        CHECK_INT(WaitForSingleObject(grandchild, 0), WAIT_OBJECT_0); /* ended before ni_kill_tree returned */
        CHECK_RC(ni_kill_tree(&process, SIGKILL), ERROR_NOTHING_TO_TERMINATE);
    }
    ni_process_close(&process);
    ni_test_end_process(grandchild);
}

/* ni_signal_group: SIGKILL ends the job of a child that leads a group, its children with it; a child that leads
   none is terminated alone for any signal, as ni_kill does, and never sent a console event. */
static void signal_group_on_windows(void)
{
    ni_process process;
    HANDLE grandchild;
    int32_t exited = 0, code = -1;
    if (start_breakable(NI_SPAWN_NEW_PROCESS_GROUP, &process, &grandchild) && CHECK(process.job != NI_INVALID_HANDLE))
    {
        CHECK_OK(ni_signal_group(&process, 0)); /* only checks */
        CHECK_OK(ni_signal_group(&process, SIGKILL));
        CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
        CHECK_INT(code, -1);
        CHECK_INT(WaitForSingleObject(grandchild, 10000), WAIT_OBJECT_0);
        CHECK_RC(ni_signal_group(&process, 0), ERROR_NOTHING_TO_TERMINATE); /* nothing left */
        CHECK_RC(ni_signal_group(&process, SIGTERM), ERROR_NOTHING_TO_TERMINATE);
    }
    ni_process_close(&process);
    ni_test_end_process(grandchild);

    if (start_breakable(0, &process, &grandchild))
    {
        CHECK_INT(process.job, NI_INVALID_HANDLE);
        CHECK_OK(ni_signal_group(&process, SIGTERM));
        CHECK_OK(ni_wait(&process, NI_TEST_WAIT_MS, &exited, &code));
        CHECK_INT(code, -1);                                          /* terminated, not its handler's 42 */
        CHECK_INT(WaitForSingleObject(grandchild, 0), WAIT_TIMEOUT); /* the child alone */
        CHECK_RC(ni_signal_group(&process, SIGTERM), ERROR_NOTHING_TO_TERMINATE);
    }
    ni_process_close(&process);
    ni_test_end_process(grandchild);
}

/* ni_signal_group with SIGTERM: CTRL_BREAK_EVENT to the group of a child that leads one, where this process shares a
   console with it; the child's handler runs (exit code 42), and its group's other processes get it too. */
static void signal_group_sends_ctrl_break(void)
{
    ni_process process;
    HANDLE grandchild;
    if (!start_breakable(NI_SPAWN_NEW_PROCESS_GROUP, &process, &grandchild))
    {
        ni_process_close(&process);
        return;
    }
    int32_t rc = ni_signal_group(&process, SIGTERM);
    DWORD consoles[1];
    char why[320];
    snprintf(why, sizeof why, "GenerateConsoleCtrlEvent failed (error %d): %s", rc,
             ni_test_wine() ? "wine 8 delivers no console control event here (tried: error 12 without a console, "
                              "6 on a tty and on a pseudo console)"
                            : "this process has no console to share with the child");
    int32_t exited = 0, code = -1;
    if (rc != 0 && (ni_test_wine() || GetConsoleProcessList(consoles, 1) == 0))
        ni_test_skip(why);
    else if (CHECK_OK(rc))
    {
        CHECK_OK(ni_wait(&process, 10000, &exited, &code));
        CHECK(exited && code == 42); /* its handler ran */
    }
    ni_kill_tree(&process, SIGKILL);
    ni_process_close(&process);
    ni_test_end_process(grandchild);
}

/* The helper the first spawn passing a handle starts exists before the first case. */
NI_TEST_WARM_UP(0)

NI_TEST_ROLES({ "tree", tree_role }, { "forker", forker_role }, { "break", break_role })
#endif

NI_TEST_MAIN(
    NI_TEST_LINUX(kill_tree_reaches_every_descendant),
    NI_TEST_LINUX(kill_tree_while_a_grandchild_forks),
    NI_TEST_LINUX(kill_tree_and_a_grandchild_that_called_setsid),
    NI_TEST_LINUX(signal_group_reaches_the_group),
    NI_TEST(tree_bad_arguments),
    NI_TEST_WINDOWS(kill_tree_reaches_the_whole_job),
    NI_TEST_WINDOWS(closing_the_job_leaves_the_tree),
    NI_TEST_WINDOWS(kill_tree_without_a_job_walks_parent_ids),
    NI_TEST_WINDOWS(signal_group_on_windows),
    NI_TEST_WINDOWS(signal_group_sends_ctrl_break))
