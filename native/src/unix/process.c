/*
 * ni_wait, ni_wait_status, ni_wait_for_exit, ni_kill, ni_process_close: watching a child that ni_spawn
 * started (spawn.c), by its pid alone (never waitpid(-1), which would take other code's children) and through
 * its pidfd where the kernel gives one; ni_signal_number: the portable signal numbers.
 */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How long the kernel may take to record the status of a child that other code collected (it does so a
   moment after the collection, Linux 6.15+): past this, no record is coming (older kernels). */
#define NI_STATUS_RECORD_WAIT_MS 250
/* The longest sleep between two looks when there is no pidfd to wait on. */
#define NI_POLL_SLEEP_MAX_MS 50

/* Sleeps up to `left` ms, at most *step, which doubles up to NI_POLL_SLEEP_MAX_MS: where nothing can be
   waited on, the looks start often and slow down. */
static void sleep_step(int64_t left, int* step)
{
    int ms = left < *step ? (int)left : *step;
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    if (*step < NI_POLL_SLEEP_MAX_MS)
        *step *= 2;
}

static int32_t decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

/* The portable signals (NI_SIG*, -1 down to -11) and this system's number for each. */
static const int g_portable_signals[] = {
    SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD, SIGCONT, SIGWINCH, SIGTTIN, SIGTTOU, SIGTSTP, SIGKILL,
};
#define NI_PORTABLE_SIGNAL_COUNT ((int32_t)(sizeof g_portable_signals / sizeof g_portable_signals[0]))

/* One past the system's last signal. */
#if defined(NSIG)
#  define NI_SIGNAL_END NSIG
#else
#  define NI_SIGNAL_END _NSIG
#endif

int32_t ni_signal_number(int32_t signal)
{
    if (signal < 0 && signal >= -NI_PORTABLE_SIGNAL_COUNT)
        return g_portable_signals[-signal - 1];
    return signal > 0 && signal < NI_SIGNAL_END ? signal : 0;
}

/* The signal that ended a child whose status is `status`, as ni_wait_status reports it; 0 if none did. */
static int32_t ended_by(int status)
{
    if (!WIFSIGNALED(status))
        return 0;
    int number = WTERMSIG(status);
    for (int32_t i = 0; i < NI_PORTABLE_SIGNAL_COUNT; i++)
    {
        if (g_portable_signals[i] == number)
            return -(i + 1);
    }
    return number;
}

/* Collects the child, blocking until it exits. */
static int32_t collect_blocking(pid_t pid, int* status)
{
    pid_t rc;
    while ((rc = waitpid(pid, status, 0)) < 0 && errno == EINTR) { }
    return rc < 0 ? errno : 0;
}

/* Collects the child if it exits by `deadline`: EAGAIN if it is still running then. */
static int32_t collect_by(const ni_process* process, int64_t deadline, int* status)
{
    pid_t pid = (pid_t)process->pid;
    int step = 1;
    for (;;)
    {
        pid_t rc;
        while ((rc = waitpid(pid, status, WNOHANG)) < 0 && errno == EINTR) { }
        if (rc < 0)
            return errno;
        if (rc == pid)
            return 0;
        int64_t left = deadline - ni_unix_now_ms();
        if (left <= 0)
            return EAGAIN;
        if (process->handle == NI_INVALID_HANDLE)
        {
            sleep_step(left, &step);
            continue;
        }
        /* A pidfd becomes readable when the process exits. */
        struct pollfd p = { ni_unix_fd(process->handle), POLLIN, 0 };
        if (poll(&p, 1, left > INT32_MAX ? -1 : (int)left) < 0 && errno != EINTR)
            return errno;
    }
}

/* The status of a child that other code collected first (a .NET runtime that is pid 1 reaps every child
   on SIGCHLD; with SIGCHLD ignored the kernel does), from the record the kernel keeps in its pidfd. It
   comes a moment after the collection: this waits for it until `deadline` (one look when that has passed),
   EAGAIN if the deadline comes first, and ECHILD when there is no record: no pidfd, or nothing after
   NI_STATUS_RECORD_WAIT_MS (a kernel before 6.15). */
static int32_t recorded_status(const ni_process* process, int64_t deadline, int* status)
{
    if (process->handle == NI_INVALID_HANDLE)
        return ECHILD;
    int64_t give_up = ni_unix_now_ms() + NI_STATUS_RECORD_WAIT_MS;
    for (;;)
    {
        int32_t error = ni_sys_pidfd_exit_status(ni_unix_fd(process->handle), status);
        if (error != EAGAIN)
            return error == 0 ? 0 : ECHILD;
        int64_t now = ni_unix_now_ms();
        if (now >= give_up)
            return ECHILD;
        if (now >= deadline)
            return EAGAIN;
        poll(NULL, 0, 1);
    }
}

int32_t ni_wait(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code)
{
    int32_t signal;
    return ni_wait_status(process, timeout_ms, exited, exit_code, &signal);
}

int32_t ni_wait_status(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code,
                       int32_t* signal)
{
    if (process == NULL || exited == NULL || exit_code == NULL || signal == NULL || process->pid <= 0 || timeout_ms < -1)
        return EINVAL;
    int64_t deadline = ni_unix_deadline(timeout_ms);
    int status = 0;
    int32_t error = timeout_ms == -1 ? collect_blocking((pid_t)process->pid, &status)
                                     : collect_by(process, deadline, &status);
    if (error == ECHILD)
        error = recorded_status(process, deadline, &status);
    if (error == EAGAIN)
    {
        *exited = 0; /* still running, or collected by other code and not recorded yet: a later call tells */
        return 0;
    }
    if (error != 0)
        return error;
    *exited = 1;
    *exit_code = decode_status(status);
    *signal = ended_by(status);
    return 0;
}

/* Whether the child has exited, without collecting it (waitid WNOWAIT: it stays a zombie for ni_wait). */
static int32_t exited_by(const ni_process* process, int32_t timeout_ms, int32_t* exited)
{
    int64_t deadline = ni_unix_deadline(timeout_ms);
    int step = 1;
    for (;;)
    {
        siginfo_t info;
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)process->pid, &info, WEXITED | WNOWAIT | (timeout_ms == -1 ? 0 : WNOHANG)) < 0)
        {
            if (errno == EINTR)
                continue;
            return errno;
        }
        int64_t left = deadline - ni_unix_now_ms();
        if (info.si_pid != 0 || left <= 0)
        {
            *exited = info.si_pid != 0;
            return 0;
        }
        sleep_step(left, &step);
    }
}

int32_t ni_wait_for_exit(const ni_process* process, int32_t timeout_ms, int32_t* exited)
{
    if (process == NULL || exited == NULL || process->pid <= 0 || timeout_ms < -1)
        return EINVAL;
    if (process->handle == NI_INVALID_HANDLE)
        return exited_by(process, timeout_ms, exited);
    int64_t deadline = ni_unix_deadline(timeout_ms);
    for (;;)
    {
        /* A pidfd becomes readable when the process exits, and stays so after it is collected. */
        struct pollfd p = { ni_unix_fd(process->handle), POLLIN, 0 };
        int n = poll(&p, 1, ni_unix_time_left(deadline));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n > 0 && (p.revents & POLLNVAL))
            return EBADF;
        *exited = n > 0;
        return 0;
    }
}

int32_t ni_kill(const ni_process* process, int32_t signal)
{
    if (process == NULL || process->pid <= 0 || signal < 0)
        return EINVAL;
    if (process->handle != NI_INVALID_HANDLE)
    {
        /* Through the pidfd: a recycled pid is never hit. */
        int32_t error = ni_sys_pidfd_signal(ni_unix_fd(process->handle), signal);
        if (error != ENOSYS)
            return error;
    }
    return kill((pid_t)process->pid, signal) == 0 ? 0 : errno;
}

int32_t ni_process_close(ni_process* process)
{
    if (process == NULL)
        return EINVAL;
    /* Releasing the resume socket of a child still suspended makes it exit without running the program. */
    int32_t error = ni_unix_release(&process->handle);
    int32_t resume = ni_unix_release(&process->resume);
    int32_t job = ni_unix_release(&process->job);
    return error != 0 ? error : resume != 0 ? resume : job;
}
