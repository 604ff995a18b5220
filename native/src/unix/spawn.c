/*
 * ni_spawn and ni_process_resume: starting a child that gets exactly the descriptors listed (waiting for it,
 * signalling it and releasing it: process.c; its tree: tree.c). The parent prepares everything here; the
 * child (spawn_child.c), which shares our memory until it calls execve (clone with CLONE_VM | CLONE_VFORK on
 * Linux) or, suspended, runs on a copy of it, only makes system calls. The mechanism: docs/architecture.md,
 * "Spawning".
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#define NI_SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO | \
                        NI_SPAWN_SUSPENDED | NI_SPAWN_NEW_PROCESS_GROUP | NI_SPAWN_DETACHED |                        \
                        NI_SPAWN_KILL_ON_PARENT_EXIT | NI_SPAWN_PROCESS_TREE | NI_SPAWN_LISTEN_PID)

static int32_t check_flags(int32_t flags)
{
    if ((flags & ~NI_SPAWN_KNOWN) != 0)
        return EINVAL;
    if ((flags & NI_SPAWN_DETACHED) && (flags & NI_SPAWN_KILL_ON_PARENT_EXIT))
        return EINVAL; /* outliving us and dying with us */
    return ni_sys_check_spawn_flags(flags);
}

/* Whether the mapping list names `std` as a target (or as a source kept under its own number; a terminal
   names all three). */
static int names_target(const ni_fd_mapping* mappings, int32_t count, int32_t std)
{
    for (int32_t i = 0; i < count; i++)
        if (mappings[i].target == std || mappings[i].target == NI_SPAWN_TERMINAL ||
            (mappings[i].target == NI_SPAWN_SAME_NUMBER && mappings[i].source == std))
            return 1;
    return 0;
}

/* The caller's mappings into `all` (room for count + 3): a terminal as the three standard streams, and this
   process's open standard streams under NI_SPAWN_INHERIT_STDIO. A terminal's source must be a terminal; it
   excludes a second terminal and NI_SPAWN_DETACHED (and other mappings to 0, 1, 2: plan_targets). */
static int32_t collect_mappings(struct spawn_args* a, const ni_fd_mapping* mappings, int32_t count, ni_fd_mapping* all)
{
    int32_t total = 0;
    for (int32_t i = 0; i < count; i++)
    {
        if (mappings[i].target != NI_SPAWN_TERMINAL)
        {
            all[total++] = mappings[i];
            continue;
        }
        if (a->terminal || (a->flags & NI_SPAWN_DETACHED))
            return EINVAL;
        if (!isatty(ni_unix_fd(mappings[i].source)))
            return errno == EBADF ? EBADF : ENOTTY;
        a->terminal = 1;
        for (int32_t std = 0; std <= 2; std++)
        {
            all[total].source = mappings[i].source;
            all[total++].target = std;
        }
    }
    for (int32_t std = 0; std <= 2 && (a->flags & NI_SPAWN_INHERIT_STDIO); std++)
    {
        if (!names_target(mappings, count, std) && fcntl(std, F_GETFD) >= 0)
        {
            all[total].source = std;
            all[total++].target = std;
        }
    }
    a->mappings = all;
    a->count = total;
    return 0;
}

static int compare_ints(const void* x, const void* y)
{
    int a = *(const int*)x, b = *(const int*)y;
    return (a > b) - (a < b);
}

/* Each mapping's target and the ascending keep list. Targets are not negative and distinct (a target too
   large for a descriptor fails in the child's dup2, EBADF). A source must be open: the report channel takes
   the lowest free numbers, so a closed source's number would otherwise name our own channel, and the child
   would get it. */
static int32_t plan_targets(struct spawn_args* a)
{
    for (int32_t i = 0; i < a->count; i++)
    {
        ni_handle source = a->mappings[i].source;
        if (ni_unix_fd(source) < 0)
            return EBADF;
        int32_t target = a->mappings[i].target == NI_SPAWN_SAME_NUMBER ? (int32_t)source : a->mappings[i].target;
        if (target < 0)
            return EINVAL;
        a->targets[i] = a->keep[i] = target;
    }
    qsort(a->keep, (size_t)a->count, sizeof(int), compare_ints);
    for (int32_t i = 1; i < a->count; i++)
        if (a->keep[i] == a->keep[i - 1])
            return EINVAL; /* two handles for one target */
    for (int32_t i = 0; i < a->count; i++)
        if (fcntl(ni_unix_fd(a->mappings[i].source), F_GETFD) < 0)
            return EBADF;
    return 0;
}

/* NI_SPAWN_LISTEN_PID: the child's environment as a block of our own (the caller's strings are never
   written): the pointers of envp without its LISTEN_PID entries, then one to "LISTEN_PID=" followed by room
   for the pid, which the child writes. *block is freed by the caller. */
static int32_t prepare_listen_pid(struct spawn_args* a, void** block)
{
    size_t n = 0, kept = 0, name = sizeof NI_LISTEN_PID_NAME - 1;
    while (a->envp[n] != NULL)
        n++;
    char** env = malloc(sizeof(char*) * (n + 2) + NI_LISTEN_PID_ROOM);
    if (env == NULL)
        return ENOMEM;
    char* entry = (char*)(env + n + 2);
    for (size_t i = 0; i < n; i++)
        if (strncmp(a->envp[i], NI_LISTEN_PID_NAME, name) != 0)
            env[kept++] = a->envp[i];
    memcpy(entry, NI_LISTEN_PID_NAME, name + 1);
    env[kept++] = entry;
    env[kept] = NULL;
    a->envp = env;
    a->listen_pid = entry + name;
    *block = env;
    return 0;
}

/* The child starts from this thread, or, with NI_SPAWN_KILL_ON_PARENT_EXIT, from the library's lasting
   thread. Suspended, it gets a copy of our memory, so that it can wait without holding us. */
static int32_t start_child(struct spawn_args* a, pid_t* pid)
{
    int how = 0;
    if (!(a->flags & NI_SPAWN_SUSPENDED))
        how = NI_CHILD_SHARE_MEMORY | (a->own_below >= 0 ? NI_CHILD_SHARE_DESCRIPTORS : 0);
    ni_sys_set_signal_mask(NULL, &a->old_mask); /* ours: the child's from execve on */
    if (a->flags & NI_SPAWN_KILL_ON_PARENT_EXIT)
        return ni_spawn_on_lasting_thread(ni_spawn_child_main, a, how, pid);
    return ni_sys_start_child(ni_spawn_child_main, a, how, pid);
}

/* Where the child can start on our memory and our descriptor table, it reports through the memory, and copies
   only the numbers up to its highest source: with thousands of descriptors open, none of the others is copied
   into it and then closed (the clone of a private table copies them all, and the close-on-exec report pipe,
   numbered above them, would have to be copied too). Else a report channel: with NI_SPAWN_SUSPENDED a socket
   that also carries the resume. */
static int32_t prepare_report(struct spawn_args* a, int channel[2])
{
    if (!(a->flags & NI_SPAWN_SUSPENDED) && ni_sys_can_share_descriptors())
    {
        int highest = -1;
        for (int32_t i = 0; i < a->count; i++)
            if (ni_unix_fd(a->mappings[i].source) > highest)
                highest = ni_unix_fd(a->mappings[i].source);
        a->own_below = highest + 1;
        return 0;
    }
    int32_t error = (a->flags & NI_SPAWN_SUSPENDED) ? ni_unix_socketpair(channel) : ni_unix_pipe(channel);
    a->report_fd = channel[1];
    return error;
}

/* Reads the child's one report (an errno, or 0 for "ready" from a suspended child): 1 with *code set, or 0
   at end of file: the channel is close-on-exec, so the child called execve (or died). */
static int read_report(int fd, int32_t* code)
{
    size_t have = 0;
    while (have < sizeof *code)
    {
        ssize_t got = read(fd, (char*)code + have, sizeof *code - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    return have == sizeof *code;
}

/* A child that reported a failure has exited (or, suspended and gone before it was ready, died): it is
   collected here, so that no process is left. */
static void collect(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
}

/* Starts the child and reads its report: the error it failed with, else 0. A suspended child is then waiting
   on its end of the channel. */
static int32_t run_child(struct spawn_args* a, int channel[2], pid_t* pid)
{
    int32_t error = start_child(a, pid);
    if (error != 0)
        return error;
    if (a->report_fd < 0)
    {
        /* The clone returned once the child had called execve or exited: its report is in `error` by then. */
        if ((error = a->error) != 0)
            collect(*pid);
        return error;
    }
    ni_unix_close_quietly(channel[1]);
    channel[1] = -1;
    int32_t code = 0;
    int reported = read_report(channel[0], &code);
    if (a->flags & NI_SPAWN_SUSPENDED)
        error = !reported ? ESRCH : code; /* no "ready": killed before it got there */
    else if (reported)
        error = code != 0 ? code : EIO;
    if (error != 0)
        collect(*pid);
    return error;
}

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (path == NULL || argv == NULL || result == NULL || mapping_count < 0 || (mappings == NULL && mapping_count > 0))
        return EINVAL;
    int32_t error = check_flags(flags);
    if (error != 0)
        return error;

    struct spawn_args a;
    memset(&a, 0, sizeof a);
    pid_t pid;
    int pidfd;
    size_t room = (size_t)mapping_count + 3;
    ni_fd_mapping* all = malloc(sizeof(ni_fd_mapping) * room);
    int* ints = malloc(sizeof(int) * (room * 3 + 1));
    void* environment = NULL;
    int channel[2] = { -1, -1 };
    if (all == NULL || ints == NULL)
    {
        error = ENOMEM;
        goto done;
    }
    a.path = path;
    a.argv = (char* const*)argv;
    a.envp = envp != NULL ? (char* const*)envp : environ;
    a.cwd = cwd;
    a.flags = flags;
    a.parent = getpid();
    a.targets = ints;
    a.temps = ints + room;
    a.keep = ints + room * 2;
    a.report_fd = -1;
    a.own_below = -1;
    if ((error = collect_mappings(&a, mappings, mapping_count, all)) != 0 || (error = plan_targets(&a)) != 0 ||
        ((flags & NI_SPAWN_LISTEN_PID) && (error = prepare_listen_pid(&a, &environment)) != 0) ||
        (error = prepare_report(&a, channel)) != 0)
        goto done;
    if ((error = run_child(&a, channel, &pid)) != 0)
        goto done;

    result->pid = pid;
    result->handle = ni_sys_pidfd_open(pid, &pidfd) == 0 ? (ni_handle)pidfd : NI_INVALID_HANDLE;
    result->resume = NI_INVALID_HANDLE;
    result->job = NI_INVALID_HANDLE;
    if (flags & NI_SPAWN_SUSPENDED)
    {
        result->resume = channel[0]; /* now the caller's */
        channel[0] = -1;
    }

done:
    if (channel[0] >= 0)
        ni_unix_close_quietly(channel[0]);
    if (channel[1] >= 0)
        ni_unix_close_quietly(channel[1]);
    free(environment);
    free(ints);
    free(all);
    return error;
}

int32_t ni_process_resume(ni_process* process)
{
    if (process == NULL || process->pid <= 0 || process->resume == NI_INVALID_HANDLE)
        return EINVAL;
    int fd = ni_unix_fd(process->resume);
    process->resume = NI_INVALID_HANDLE;
    char go = 1;
    ssize_t sent;
    while ((sent = send(fd, &go, 1, NI_MSG_NOSIGNAL)) < 0 && errno == EINTR) { }
    int32_t error = 0, code = 0;
    if (sent < 0)
        error = errno == EPIPE || errno == ECONNRESET ? ESRCH : errno; /* it died while it waited */
    else if (read_report(fd, &code))
    {
        collect((pid_t)process->pid); /* execve failed, and the child exited */
        error = code != 0 ? code : EIO;
    }
    if (fd >= 0)
        close(fd);
    return error;
}
