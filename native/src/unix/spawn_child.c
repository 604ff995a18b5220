/*
 * The spawned child, between clone and execve (the parent's side is spawn.c). It runs on memory the parent
 * prepared, shared with the parent on the default path (clone(CLONE_VM | CLONE_VFORK), with CLONE_FILES where
 * the system allows: then on the parent's descriptor table too, until it takes its own) or a copy of it with
 * NI_SPAWN_SUSPENDED, on a stack of its own: it only makes system calls, allocates nothing, and is kept out of
 * AddressSanitizer (NI_CHILD_CODE).
 */
#define _GNU_SOURCE
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

/* The exit status of a child that did not run the program (a failure reported, or never resumed). */
#define NI_CHILD_NOT_RUN 127

/* Into the report channel, or, without one, into the memory the parent reads once we exited. */
NI_CHILD_CODE static void report(struct spawn_args* a, int32_t error)
{
    if (a->report_fd < 0)
    {
        a->error = error;
        return;
    }
    ssize_t n;
    do
        n = write(a->report_fd, &error, sizeof error);
    while (n < 0 && errno == EINTR);
}

NI_CHILD_CODE static void report_and_exit(struct spawn_args* a, int32_t error)
{
    report(a, error);
    _exit(NI_CHILD_NOT_RUN);
}

/* No handler of the parent may run here: caught signals go back to the default. Ignored ones stay ignored, as
   Process.Start leaves them, but SIGPIPE with NI_SPAWN_DEFAULT_SIGPIPE, and every one for a child on a terminal of
   its own: it starts as in a login session, where Ctrl-C and Ctrl-\ work even if this process ignores SIGINT and
   SIGQUIT (as a background job of a non-interactive shell does). */
NI_CHILD_CODE static void reset_signals(int flags, int terminal)
{
    for (int sig = 1; sig < NSIG; sig++)
        ni_sys_default_signal(sig, !terminal && !(sig == SIGPIPE && (flags & NI_SPAWN_DEFAULT_SIGPIPE)));
}

/* A new session (detached, or for a terminal to control), or a new process group; then the parent-death
   signal, and the check that the parent did not die before it was armed. */
NI_CHILD_CODE static void set_session_and_lifetime(struct spawn_args* a)
{
    int32_t error = 0;
    if ((a->flags & NI_SPAWN_DETACHED) || a->terminal)
        error = setsid() < 0 ? errno : 0;
    else if (a->flags & (NI_SPAWN_NEW_PROCESS_GROUP | NI_SPAWN_PROCESS_TREE))
        error = setpgid(0, 0) < 0 ? errno : 0;
    if (error == 0 && (a->flags & NI_SPAWN_KILL_ON_PARENT_EXIT))
        error = ni_sys_die_with_parent(a->parent);
    if (error != 0)
        report_and_exit(a, error);
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

/* Moves the report channel off the targets, makes every source a temporary copy (so that a target that is
   another mapping's source is never clobbered), then puts each copy at its target. */
NI_CHILD_CODE static void apply_mappings(struct spawn_args* a)
{
    int from = 0;
    int32_t error = 0;
    if (a->report_fd >= 0 && ni_unix_is_kept(a->keep, a->count, a->report_fd) &&
        (error = park(a, a->report_fd, &from, &a->report_fd)) != 0)
        report_and_exit(a, error);
    for (int32_t i = 0; i < a->count; i++)
        if ((error = park(a, (int)a->mappings[i].source, &from, &a->temps[i])) != 0)
            report_and_exit(a, error);
    for (int32_t i = 0; i < a->count; i++)
    {
        int rc;
        while ((rc = dup2(a->temps[i], a->targets[i])) < 0 && (errno == EINTR || errno == EBUSY)) { }
        if (rc < 0)
            report_and_exit(a, errno);
    }
    /* The report channel joins the kept numbers, in order. */
    if (a->report_fd >= 0)
    {
        int32_t i = a->count;
        for (; i > 0 && a->keep[i - 1] > a->report_fd; i--)
            a->keep[i] = a->keep[i - 1];
        a->keep[i] = a->report_fd;
    }
    /* The terminal, now 0, 1 and 2, becomes the controlling terminal of the session set up above. */
    if (a->terminal && ioctl(0, TIOCSCTTY, 0) < 0)
        report_and_exit(a, errno);
}

/* The kept numbers: the targets, and the report channel if there is one. */
NI_CHILD_CODE static int32_t kept_count(const struct spawn_args* a)
{
    return a->count + (a->report_fd >= 0);
}

NI_CHILD_CODE static int32_t close_unless_kept(int fd, void* state)
{
    const struct spawn_args* a = state;
    if (!ni_unix_is_kept(a->keep, kept_count(a), fd))
        close(fd);
    return 0;
}

/* Everything but the targets and the report channel (which closes itself at execve) is closed here, the temporary
   copies included, not just marked close-on-exec: execve closes those in the order of their numbers and the parent
   goes on at the channel's (or, without one, as soon as execve has replaced our memory, before it closes any), so
   they would still be open in the child when ni_spawn returns (a socket or pipe end the parent closes next too;
   native.spawn.child_holds_nothing_else_when_spawn_returns). A suspended child must not hold them while it waits
   either. */
NI_CHILD_CODE static void close_the_rest(const struct spawn_args* a)
{
    if (ni_unix_close_except(a->keep, kept_count(a), 0) == 0)
        return;
    ni_unix_for_each_fd(close_unless_kept, (void*)a);
}

/* The child's own pid, in decimal, into the room the parent left after "LISTEN_PID=". */
NI_CHILD_CODE static void write_listen_pid(char* digits)
{
    char reversed[16];
    int n = 0;
    for (unsigned long pid = (unsigned long)ni_sys_own_pid(); n == 0 || pid > 0; pid /= 10)
        reversed[n++] = (char)('0' + pid % 10);
    while (n > 0)
        *digits++ = reversed[--n];
    *digits = '\0';
}

/* NI_SPAWN_SUSPENDED: "ready" (a report of 0), then wait for the byte that resumes; end of file (the parent
   released the handle, or died) ends the child without running the program. The signal mask is the
   caller's meanwhile: with every handler at its default, a signal acts as it would on the program. */
NI_CHILD_CODE static void wait_for_resume(struct spawn_args* a)
{
    report(a, 0);
    ni_sys_set_signal_mask(&a->old_mask, NULL);
    char go;
    ssize_t n;
    while ((n = read(a->report_fd, &go, 1)) < 0 && errno == EINTR) { }
    if (n != 1)
        _exit(NI_CHILD_NOT_RUN);
}

NI_CHILD_CODE int ni_spawn_child_main(void* arg)
{
    struct spawn_args* a = arg;
    /* On our table, the child takes its own first: the mappings and the closing below change it, and ours must not. */
    int32_t error;
    if (a->own_below >= 0 && (error = ni_sys_own_descriptors((unsigned int)a->own_below)) != 0)
        report_and_exit(a, error);
    reset_signals(a->flags, a->terminal);
    set_session_and_lifetime(a);
    apply_mappings(a);
    close_the_rest(a);
    if (a->cwd != NULL && chdir(a->cwd) != 0)
        report_and_exit(a, errno);
    if (a->listen_pid != NULL)
        write_listen_pid(a->listen_pid);
    if (a->flags & NI_SPAWN_SUSPENDED)
        wait_for_resume(a);
    ni_sys_set_signal_mask(&a->old_mask, NULL);
    execve(a->path, a->argv, a->envp);
    report_and_exit(a, errno);
    return NI_CHILD_NOT_RUN;
}
