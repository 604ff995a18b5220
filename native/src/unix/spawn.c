/*
 * ni_spawn: starting a child that gets exactly the descriptors listed (waiting for it, signalling it and
 * releasing it: process.c). The parent prepares everything (ni_spawn and its helpers); the child, which
 * shares our memory until it calls execve (clone with CLONE_VM | CLONE_VFORK on Linux), only makes system
 * calls (child_main and its helpers, NI_CHILD_CODE). The mechanism: docs/architecture.md, "Spawning".
 */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

#define NI_SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO)

/* Everything the child needs, prepared by the parent: the child allocates nothing. */
struct spawn_args
{
    const char* path;
    char* const* argv;
    char* const* envp;
    const char* cwd;
    const ni_fd_mapping* mappings; /* the caller's, and the standard streams NI_SPAWN_INHERIT_STDIO adds */
    int32_t count;
    int* targets;  /* per mapping: the number in the child */
    int* temps;    /* per mapping: its temporary copy in the child (written by the child) */
    int* keep;     /* the targets ascending, and one more slot: the child adds its report pipe */
    int error_fd;  /* write end of the close-on-exec report pipe */
    int flags;
    sigset_t old_mask;
};

/* ---- The child, between clone and execve ---- */

NI_CHILD_CODE static void report_and_exit(int fd, int32_t error)
{
    ssize_t n;
    do
        n = write(fd, &error, sizeof error);
    while (n < 0 && errno == EINTR);
    _exit(127);
}

/* No handler of the parent may run here: caught signals go back to the default, and an ignored SIGPIPE
   too with NI_SPAWN_DEFAULT_SIGPIPE. */
NI_CHILD_CODE static void reset_signals(int flags)
{
    for (int sig = 1; sig < NSIG; sig++)
    {
        struct sigaction action;
        if (sigaction(sig, NULL, &action) != 0)
            continue; /* a libc-internal signal */
        int ignored = action.sa_handler == SIG_IGN;
        if (action.sa_handler == SIG_DFL || (ignored && !(sig == SIGPIPE && (flags & NI_SPAWN_DEFAULT_SIGPIPE))))
            continue;
        memset(&action, 0, sizeof action);
        action.sa_handler = SIG_DFL;
        sigaction(sig, &action, NULL);
    }
}

/* A close-on-exec copy of `fd` at the lowest free number at least *from that no mapping targets, so that
   no dup2 onto a target can overwrite it. A target's number found free is left free for its mapping. */
NI_CHILD_CODE static int32_t park(const struct spawn_args* a, int fd, int* from, int* parked)
{
    for (;;)
    {
        int copy;
        int32_t error = ni_unix_dup_from(fd, *from, 1, &copy);
        if (error != 0)
            return error == EINVAL ? EMFILE : error; /* EINVAL: no free number left below the limit */
        if (!ni_unix_is_kept(a->keep, a->count, copy))
        {
            *parked = copy;
            return 0;
        }
        close(copy);
        *from = copy + 1;
    }
}

/* Moves the report pipe off the targets, makes every source a temporary copy (so that a target that is
   another mapping's source is never clobbered), then puts each copy at its target. */
NI_CHILD_CODE static void apply_mappings(struct spawn_args* a)
{
    int from = 0;
    int32_t error = 0;
    if (ni_unix_is_kept(a->keep, a->count, a->error_fd) && (error = park(a, a->error_fd, &from, &a->error_fd)) != 0)
        report_and_exit(a->error_fd, error);
    for (int32_t i = 0; i < a->count; i++)
        if ((error = park(a, (int)a->mappings[i].source, &from, &a->temps[i])) != 0)
            report_and_exit(a->error_fd, error);
    for (int32_t i = 0; i < a->count; i++)
    {
        int rc;
        while ((rc = dup2(a->temps[i], a->targets[i])) < 0 && (errno == EINTR || errno == EBUSY)) { }
        if (rc < 0)
            report_and_exit(a->error_fd, errno);
    }
    /* The report pipe joins the kept numbers, in order. */
    int32_t i = a->count;
    for (; i > 0 && a->keep[i - 1] > a->error_fd; i--)
        a->keep[i] = a->keep[i - 1];
    a->keep[i] = a->error_fd;
}

NI_CHILD_CODE static int32_t close_unless_kept(int fd, void* state)
{
    const struct spawn_args* a = state;
    if (!ni_unix_is_kept(a->keep, a->count + 1, fd))
        close(fd);
    return 0;
}

/* Everything but the targets and the report pipe (which closes itself at execve) goes, the temporary
   copies included. Marked close-on-exec rather than closed where the kernel can (close_range CLOEXEC):
   execve closes them after it has let the parent go on, as it does for posix_spawn, so a parent with
   thousands of descriptors does not wait for them here. */
NI_CHILD_CODE static void close_the_rest(const struct spawn_args* a)
{
    if (ni_unix_close_except(a->keep, a->count + 1, NI_CLOSE_RANGE_CLOEXEC) == 0 ||
        ni_unix_close_except(a->keep, a->count + 1, 0) == 0)
        return;
    ni_unix_for_each_fd(close_unless_kept, (void*)a);
}

NI_CHILD_CODE static int child_main(void* arg)
{
    struct spawn_args* a = arg;
    reset_signals(a->flags);
    apply_mappings(a);
    close_the_rest(a);
    if (a->cwd != NULL && chdir(a->cwd) != 0)
        report_and_exit(a->error_fd, errno);
    ni_sys_set_signal_mask(&a->old_mask, NULL);
    execve(a->path, a->argv, a->envp);
    report_and_exit(a->error_fd, errno);
    return 127;
}

/* ---- The parent ---- */

/* Whether the mapping list names `std` as a target (or as a source kept under its own number). */
static int names_target(const ni_fd_mapping* mappings, int32_t count, int32_t std)
{
    for (int32_t i = 0; i < count; i++)
        if (mappings[i].target == std || (mappings[i].target == NI_SPAWN_SAME_NUMBER && mappings[i].source == std))
            return 1;
    return 0;
}

/* The caller's mappings, plus this process's open standard streams under NI_SPAWN_INHERIT_STDIO, into
   `all` (room for count + 3). */
static int32_t collect_mappings(const ni_fd_mapping* mappings, int32_t count, int32_t flags, ni_fd_mapping* all)
{
    if (count > 0)
        memcpy(all, mappings, sizeof(ni_fd_mapping) * (size_t)count);
    int32_t total = count;
    for (int32_t std = 0; std <= 2 && (flags & NI_SPAWN_INHERIT_STDIO); std++)
    {
        if (!names_target(mappings, count, std) && fcntl(std, F_GETFD) >= 0)
        {
            all[total].source = std;
            all[total].target = std;
            total++;
        }
    }
    return total;
}

static int compare_ints(const void* x, const void* y)
{
    int a = *(const int*)x, b = *(const int*)y;
    return (a > b) - (a < b);
}

/* Each mapping's target and the ascending keep list. Targets are not negative and distinct (a target too
   large for a descriptor fails in the child's dup2, EBADF). A source must be open: the report pipe takes
   the lowest free numbers, so a closed source's number would otherwise name our own pipe, and the child
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

/* Starts the child with every signal blocked, so that no handler runs in it while it shares our memory. */
static int32_t start_child(struct spawn_args* a, pid_t* pid)
{
    sigset_t blocked;
    sigfillset(&blocked);
    ni_sys_set_signal_mask(&blocked, &a->old_mask);
    int32_t error = ni_sys_start_child(child_main, a, pid);
    ni_sys_set_signal_mask(&a->old_mask, NULL);
    return error;
}

/* EOF: the child reached execve (the pipe is close-on-exec). A report: it failed before, and exited; it
   is reaped here, so that no process is left. */
static int32_t read_report(int fd, pid_t pid)
{
    int32_t report;
    size_t have = 0;
    while (have < sizeof report)
    {
        ssize_t got = read(fd, (char*)&report + have, sizeof report - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    if (have < sizeof report)
        return 0;
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    return report != 0 ? report : EIO;
}

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (path == NULL || argv == NULL || result == NULL || mapping_count < 0 ||
        (mappings == NULL && mapping_count > 0) || (flags & ~NI_SPAWN_KNOWN) != 0)
        return EINVAL;

    struct spawn_args a;
    memset(&a, 0, sizeof a);
    pid_t pid;
    int pidfd;
    size_t room = (size_t)mapping_count + 3;
    ni_fd_mapping* all = malloc(sizeof(ni_fd_mapping) * room);
    int* ints = malloc(sizeof(int) * (room * 3 + 1));
    int report[2] = { -1, -1 };
    int32_t error = all == NULL || ints == NULL ? ENOMEM : 0;
    if (error != 0)
        goto done;
    a.path = path;
    a.argv = (char* const*)argv;
    a.envp = envp != NULL ? (char* const*)envp : environ;
    a.cwd = cwd;
    a.flags = flags;
    a.mappings = all;
    a.count = collect_mappings(mappings, mapping_count, flags, all);
    a.targets = ints;
    a.temps = ints + room;
    a.keep = ints + room * 2;
    if ((error = plan_targets(&a)) != 0 || (error = ni_unix_pipe(report)) != 0)
        goto done;
    a.error_fd = report[1];

    if ((error = start_child(&a, &pid)) != 0)
        goto done;
    ni_unix_close_quietly(report[1]);
    report[1] = -1;
    if ((error = read_report(report[0], pid)) != 0)
        goto done;
    result->pid = pid;
    result->handle = ni_sys_pidfd_open(pid, &pidfd) == 0 ? (ni_handle)pidfd : NI_INVALID_HANDLE;

done:
    if (report[0] >= 0)
        ni_unix_close_quietly(report[0]);
    if (report[1] >= 0)
        ni_unix_close_quietly(report[1]);
    free(ints);
    free(all);
    return error;
}
