/* NI_SPAWN_KILL_ON_PARENT_EXIT with real parents that die (the test program in its parent role, killed with SIGKILL
   or TerminateProcess): the flagged children go with them, within a second; not with the thread that started them;
   plain children live on. Linux: the parent-death signal from the library's lasting thread; Windows: the lasting
   kill-on-close job. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#  include <dirent.h>
#  include <fcntl.h>
#  include <poll.h>
#  include <pthread.h>
#  include <signal.h>
#  include <sys/prctl.h>
#  include <sys/syscall.h>
#  include <sys/wait.h>
#endif

#ifdef __linux__
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
static int parent_death_role(void)
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
NI_TEST_ROLES({ "parent", parent_death_role })

/* The child of a flagged spawn dies with its parent process, not with the thread that started it. The parent is
   a real process (this program in its "parent" role), killed with SIGKILL; a plain child of it lives on. */
static void kill_on_parent_exit_holds(void)
{
    ni_handle r, w;
    if (!CHECK_OK(ni_pipe(&r, &w)))
        return;
    const char* argv[NI_TEST_MAX_ARGS];
    ni_test_command_line(ni_test_self(), NULL, argv);
    const char* const* envp = ni_test_role_env("parent");
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
    return ok & CHECK(ni_test_no_children_left());
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

/* How many of our threads show `name` (/proc/self/task/<tid>/comm). */
static int threads_named(const char* name)
{
    DIR* tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return -1;
    int count = 0;
    struct dirent* entry;
    while ((entry = readdir(tasks)) != NULL)
    {
        if (entry->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        char* comm = ni_test_read_file(path, NULL);
        if (comm != NULL)
        {
            comm[strcspn(comm, "\n")] = '\0';
            count += strcmp(comm, name) == 0;
        }
        free(comm);
    }
    closedir(tasks);
    return count;
}

/* The thread that starts flagged children shows a name of its own in ps -L and top -H, not the name of the thread
   that happened to start it (in .NET a thread-pool worker's, which sent a reader of /proc looking for a worker
   with every signal blocked); one such thread, however many flagged starts. */
static void lasting_thread_has_a_name_of_its_own(void)
{
    const char* argv[] = { "/bin/true", NULL };
    for (int i = 0; i < 3; i++)
    {
        ni_process process;
        int32_t exited, code;
        if (!CHECK_OK(ni_spawn(argv[0], argv, NULL, NULL, NULL, 0, NI_SPAWN_KILL_ON_PARENT_EXIT, &process)))
            return;
        CHECK_OK(ni_wait(&process, -1, &exited, &code));
        CHECK_OK(ni_process_close(&process));
    }
    CHECK_INT(threads_named("noinherit spawn"), 1);
}
#endif

#ifdef _WIN32
/* The helper that the first spawn passing a handle starts exists before the first case. */
NI_TEST_WARM_UP(0)

#define SLEEP_MS "60000" /* the children that must be ended by what is tested: they would otherwise outlive it */


/* NI_TEST_ROLE=parent: starts sleeping children with NI_SPAWN_KILL_ON_PARENT_EXIT (one from a thread that exits at
   once; one also with NI_SPAWN_PROCESS_TREE, whose job nests in the lasting one, and a handle, so that it comes from
   the helper process) and one without, says their pids and waits to be killed (60 s at most, so that a test that
   died leaves nothing behind for long). */
struct flagged_start
{
    int32_t flags;
    int with_handle; /* a pipe as its stdin: then it is created from the helper process, whose job lets it go */
    long long pid;
};

static DWORD WINAPI start_flagged(void* parameter)
{
    struct flagged_start* start = parameter;
    const char* args[] = { SLEEP_MS, NULL };
    ni_handle r = NI_INVALID_HANDLE, w = NI_INVALID_HANDLE;
    if (start->with_handle && ni_pipe(&r, &w) != 0)
        return 0;
    ni_process child;
    if (ni_test_start_role("sleep", args, r, start->flags, &child) == 0)
    {
        start->pid = child.pid;
        ni_process_close(&child);
    }
    if (r != NI_INVALID_HANDLE)
        ni_close(r), ni_close(w);
    return 0;
}

static int parent_role(void)
{
    struct flagged_start starts[3] = { { NI_SPAWN_KILL_ON_PARENT_EXIT, 0, 0 },
                                       { NI_SPAWN_KILL_ON_PARENT_EXIT | NI_SPAWN_PROCESS_TREE, 1, 0 },
                                       { 0, 1, 0 } };
    HANDLE thread = CreateThread(NULL, 0, start_flagged, &starts[0], 0, NULL);
    if (thread == NULL || WaitForSingleObject(thread, 30000) != WAIT_OBJECT_0)
        return 3;
    CloseHandle(thread); /* the thread that started it is gone */
    start_flagged(&starts[1]);
    start_flagged(&starts[2]);
    printf("%lld %lld %lld\n", starts[0].pid, starts[1].pid, starts[2].pid);
    fflush(stdout);
    Sleep(60000);
    return 5;
}

/* The children of a flagged spawn end with the process that started them (killed here with TerminateProcess),
   within a second; not with the thread that started them; a plain child lives on. */
static void kill_on_parent_exit_ends_with_the_parent(void)
{
    ni_handle out;
    ni_process parent;
    if (!ni_test_start_reporting("parent", NULL, 0, &out, &parent))
        return;
    char* line = ni_test_first_line(out);
    long long pids[3] = { 0, 0, 0 };
    int parsed = sscanf(line, "%lld %lld %lld", &pids[0], &pids[1], &pids[2]) == 3;
    HANDLE children[3];
    for (int i = 0; i < 3; i++)
        children[i] = ni_test_open_pid(pids[i]);
    if (CHECK(parsed) && CHECK(children[0] != NULL && children[1] != NULL && children[2] != NULL))
        for (int i = 0; i < 3; i++)
            CHECK_INT(WaitForSingleObject(children[i], 0), WAIT_TIMEOUT); /* all run: the thread's end killed none */
    free(line);
    ni_close(out);
    int32_t exited, code;
    CHECK_OK(ni_kill(&parent, SIGKILL));
    CHECK_OK(ni_wait(&parent, NI_TEST_WAIT_MS, &exited, &code));
    CHECK_OK(ni_process_close(&parent));
    if (children[0] != NULL && children[1] != NULL && children[2] != NULL)
    {
        CHECK_INT(WaitForSingleObject(children[0], 1000), WAIT_OBJECT_0); /* within a second of its parent */
        CHECK_INT(WaitForSingleObject(children[1], 1000), WAIT_OBJECT_0);
        CHECK_INT(WaitForSingleObject(children[2], 0), WAIT_TIMEOUT); /* the plain one outlives its parent */
    }
    for (int i = 0; i < 3; i++)
        ni_test_end_process(children[i]);
}


NI_TEST_ROLES({ "parent", parent_role })
#endif

NI_TEST_MAIN(
    NI_TEST_LINUX(kill_on_parent_exit_holds),
    NI_TEST_LINUX(kill_on_parent_exit_refuses_an_orphan),
    NI_TEST_LINUX(lasting_thread_has_a_name_of_its_own),
    NI_TEST_WINDOWS(kill_on_parent_exit_ends_with_the_parent))
