/* ni_kill_tree and ni_signal_group with real process trees: the child and every descendant, one that forks while
   the kill runs, one that left the group, and what cannot be reached. */
#include "ni_test.h"

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
#endif

NI_TEST_MAIN(
    NI_TEST_LINUX(kill_tree_reaches_every_descendant),
    NI_TEST_LINUX(kill_tree_while_a_grandchild_forks),
    NI_TEST_LINUX(kill_tree_and_a_grandchild_that_called_setsid),
    NI_TEST_LINUX(signal_group_reaches_the_group),
    NI_TEST_POSIX(tree_bad_arguments))
