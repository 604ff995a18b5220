/*
 * ni_signal_group and ni_kill_tree: signalling the group a child leads, and the child's whole tree. The tree
 * is the child, the group it leads (the kernel signals a group in one step, a fork in progress included),
 * and, from the process list, every descendant by parentage with the groups they lead. Each process found is
 * stopped (SIGSTOP) at once, and the list is read again until nothing new turns up after a pass in which
 * every member was seen stopped: a stopped process cannot fork, so the tree has stopped growing; then all get
 * the signal. Why this mechanism and what it cannot reach: docs/architecture.md, "Killing a process tree".
 */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct id_list
{
    pid_t* ids;
    size_t count, capacity;
};

/* How long the passes wait for the processes found to be seen stopped; past it, the signal goes out anyway. */
#define NI_TREE_SETTLE_MS 5000

struct tree
{
    struct id_list processes; /* every one found, each stopped when found */
    struct id_list groups;    /* the groups led by one of them (or by the child, collected or not) */
    pid_t self;
    int grew;      /* this pass found a new one */
    int unsettled; /* this pass saw a member still running (it may be inside fork) */
    int32_t error;
};

static int has(const struct id_list* list, pid_t id)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->ids[i] == id)
            return 1;
    return 0;
}

static int32_t add(struct id_list* list, pid_t id)
{
    if (list->count == list->capacity)
    {
        size_t capacity = list->capacity != 0 ? list->capacity * 2 : 16;
        pid_t* ids = realloc(list->ids, capacity * sizeof *ids);
        if (ids == NULL)
            return ENOMEM;
        list->ids = ids;
        list->capacity = capacity;
    }
    list->ids[list->count++] = id;
    return 0;
}

/* Whether the child has not been collected yet (alive, or a zombie only ni_wait may take). */
static int not_collected(pid_t pid)
{
    siginfo_t info;
    int rc;
    while ((rc = waitid(P_PID, (id_t)pid, &info, WEXITED | WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT)) < 0 &&
           errno == EINTR) { }
    return rc == 0;
}

/* Whether the child leads a process group of its own (its pid is the group's id). Asked of the child while
   it exists (a zombie still answers). Once collected: whether a group with that id still has members. The
   kernel keeps the id reserved while it does, so it is still the child's; a process holding that pid means
   the group died out and the number was given to someone else. */
static int leads_group(const ni_process* process, int* collected)
{
    pid_t pid = (pid_t)process->pid;
    *collected = !not_collected(pid);
    if (!*collected)
        return getpgid(pid) == pid;
    return (kill(-pid, 0) == 0 || errno == EPERM) && kill(pid, 0) < 0 && errno == ESRCH;
}

/* A process whose parent is in the tree, or that is in one of its groups, joins it, stopped; so does the
   group it leads. A member still running or asleep (R, S) may be inside fork: the SIGSTOP takes effect when
   the call returns, and the new child is in the list only from then on. Stopped, dead, or in uninterruptible
   sleep (a vfork parent waiting for its child) it is not forking. */
static int32_t visit(pid_t pid, pid_t parent, pid_t group, char run_state, void* state)
{
    struct tree* t = state;
    if (pid <= 1 || pid == t->self)
        return 0;
    int member = has(&t->processes, pid);
    if (!member && !has(&t->processes, parent) && !has(&t->groups, group))
        return 0;
    t->unsettled |= run_state == 'R' || run_state == 'S';
    if (member)
        return 0;
    if ((t->error = add(&t->processes, pid)) != 0)
        return t->error;
    kill(pid, SIGSTOP);
    t->grew = 1;
    if (group == pid && !has(&t->groups, group))
    {
        if ((t->error = add(&t->groups, group)) != 0)
            return t->error;
        kill(-group, SIGSTOP);
    }
    return 0;
}

/* Sends `signal` to everything found: the child through ni_kill (its pidfd), the others by pid (stopped, and
   so alive or kept as zombies by a stopped parent: their pids cannot be reused meanwhile), the groups in one
   step each. 1 if anything was reached. */
static int deliver(const struct tree* t, const ni_process* child, int32_t signal)
{
    int reached = 0;
    for (size_t i = 0; i < t->processes.count; i++)
    {
        pid_t pid = t->processes.ids[i];
        reached |= (pid == (pid_t)child->pid ? ni_kill(child, signal) : (kill(pid, signal) == 0 ? 0 : errno)) == 0;
    }
    for (size_t i = 0; i < t->groups.count; i++)
        reached |= kill(-t->groups.ids[i], signal) == 0;
    return reached;
}

/* Finds the tree, stopping what it finds, until a full look at the process list finds nothing new. */
static int32_t find_tree(struct tree* t, const ni_process* process)
{
    int collected;
    pid_t pid = (pid_t)process->pid;
    int leader = leads_group(process, &collected);
    if (!collected && (t->error = add(&t->processes, pid)) == 0)
        ni_kill(process, SIGSTOP);
    if (leader && t->error == 0 && (t->error = add(&t->groups, pid)) == 0)
        kill(-pid, SIGSTOP);
    /* Done when a pass finds nothing new after a pass that found nothing new and saw every member stopped:
       any child forked before those stops is in the list by then (a stopped member cannot have been inside
       fork when the pass began, wherever its child's pid falls in the listing). */
    struct timespec pause = { 0, 1000000 };
    int settled_before = 0;
    for (long waited = 0; t->error == 0 && waited < NI_TREE_SETTLE_MS;)
    {
        t->grew = t->unsettled = 0;
        if (ni_sys_list_processes(visit, t) == ENOSYS || (!t->grew && settled_before))
            break; /* ENOSYS: no process list, the child and its group only */
        settled_before = !t->grew && !t->unsettled;
        if (!t->grew && t->unsettled)
        {
            nanosleep(&pause, NULL); /* let the stops take effect */
            waited++;
        }
    }
    return t->error;
}

int32_t ni_kill_tree(const ni_process* process, int32_t signal)
{
    if (process == NULL || process->pid <= 0 || signal <= 0)
        return EINVAL;
    struct tree t = { { NULL, 0, 0 }, { NULL, 0, 0 }, getpid(), 0, 0, 0 };
    int32_t error = find_tree(&t, process);
    /* Even after a failure (ENOMEM) what was stopped is signalled, and continued. */
    int reached = deliver(&t, process, signal);
    if (signal != SIGKILL && signal != SIGSTOP)
        deliver(&t, process, SIGCONT); /* a stopped process acts on the signal once continued */
    free(t.processes.ids);
    free(t.groups.ids);
    return error != 0 ? error : reached ? 0 : ESRCH;
}

int32_t ni_signal_group(const ni_process* process, int32_t signal)
{
    if (process == NULL || process->pid <= 0 || signal < 0)
        return EINVAL;
    int collected;
    if (leads_group(process, &collected))
        return kill(-(pid_t)process->pid, signal) == 0 ? 0 : errno;
    return collected ? ESRCH : ni_kill(process, signal);
}
