/* ni_spawn, ni_wait, ni_kill, ni_process_close: a child that gets exactly the descriptors listed. */
#define _GNU_SOURCE
#include "unix.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__linux__)
#  include <sys/ioctl.h>
#  include <sys/syscall.h>
#endif

extern char** environ;

#define NI_SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO)

/* System call numbers that older headers lack: the same on every architecture (the unified table). */
#if defined(__linux__)
#  ifndef SYS_pidfd_send_signal
#    define SYS_pidfd_send_signal 424
#  endif
#  ifndef SYS_pidfd_open
#    define SYS_pidfd_open 434
#  endif
#endif

/* The child runs on a stack of its own inside our memory (CLONE_VM). AddressSanitizer keeps the
   state of every stack frame in shadow memory and assumes the thread's own stack: frames that never
   return (the child execs or exits) leave poisoned shadow behind, and its no-return hook scans the
   wrong stack, so a sanitized child fails inside ASan instead of reporting its error. The child's code
   (and only it) is left uninstrumented; it only makes system calls, on memory the parent prepared. */
#if defined(__GNUC__)
#  define NI_CHILD_CODE __attribute__((no_sanitize_address))
#else
#  define NI_CHILD_CODE
#endif

/* Everything the child needs, prepared by the parent: the child allocates nothing. */
struct spawn_args
{
    const char* path;
    char* const* argv;
    char* const* envp;
    const char* cwd;
    const ni_fd_mapping* mappings;
    int32_t count;
    const int* targets;  /* per mapping: the number in the child */
    int* temps;          /* per mapping: the temporary copy (written by the child) */
    const int* keep;     /* the targets, sorted */
    int max_target;      /* -1 when there are none */
    int error_fd;        /* write end of the close-on-exec report pipe */
    int flags;
    sigset_t old_mask;
};

/* What the child writes to the report pipe when it cannot exec. */
struct spawn_report
{
    int32_t error;
    int32_t stage;
};

#if defined(__linux__)
/* The kernel's sigset (64 signals on every architecture we build for): libc's is larger. */
#  define NI_KERNEL_SIGSET_SIZE ((size_t)(_NSIG - 1) / 8)

NI_CHILD_CODE static int block_signals(const sigset_t* set, sigset_t* old)
{
    /* The raw call also blocks the libc's internal signals (glibc's posix_spawn does the same): no
       handler may run in the child while it shares our memory. */
    return (int)syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, old, NI_KERNEL_SIGSET_SIZE);
}
#else
NI_CHILD_CODE static int block_signals(const sigset_t* set, sigset_t* old)
{
    return sigprocmask(SIG_SETMASK, set, old);
}
#endif

NI_CHILD_CODE static void report_and_exit(int fd, int error, int stage)
{
    struct spawn_report report = { error, stage };
    ssize_t n;
    do
        n = write(fd, &report, sizeof report);
    while (n < 0 && errno == EINTR);
    _exit(127);
}

NI_CHILD_CODE static int is_kept(const struct spawn_args* a, int fd)
{
    for (int32_t i = 0; i < a->count; i++)
        if (a->keep[i] == fd)
            return 1;
    return 0;
}

#if defined(__linux__)
struct ni_dirent64
{
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Closes every descriptor of /proc/self/fd but the kept ones and error_fd; -1 without /proc. */
NI_CHILD_CODE static int close_by_walking_proc(const struct spawn_args* a, int error_fd)
{
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    char buffer[4096] __attribute__((aligned(8)));
    long n;
    while ((n = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0)
    {
        for (long offset = 0; offset < n;)
        {
            struct ni_dirent64* entry = (struct ni_dirent64*)(void*)(buffer + offset);
            offset += entry->d_reclen;
            const char* name = entry->d_name;
            if (name[0] < '0' || name[0] > '9')
                continue;
            int fd = 0;
            for (; *name >= '0' && *name <= '9'; name++)
                fd = fd * 10 + (*name - '0');
            if (fd != dir && fd != error_fd && !is_kept(a, fd))
                close(fd);
        }
    }
    close(dir);
    return 0;
}
#endif

/* Closes every descriptor but the targets and error_fd (which is above all of them). */
NI_CHILD_CODE static void close_the_rest(const struct spawn_args* a, int error_fd)
{
    unsigned int first = 0;
    int ok = 1;
    /* Marked close-on-exec rather than closed: execve closes them after it has let the parent go on
       (CLONE_VFORK ends at the new program's memory map), as it does for posix_spawn, so a parent with
       thousands of descriptors does not wait for them to close here. Plain closing where the flag is
       unknown (Linux < 5.11). */
    for (unsigned int flags = CLOSE_RANGE_CLOEXEC;; flags = 0)
    {
        first = 0;
        ok = 1;
        for (int32_t i = 0; i <= a->count && ok; i++)
        {
            unsigned int k = i < a->count ? (unsigned int)a->keep[i] : (unsigned int)error_fd;
            if (k > first && ni_unix_close_range(first, k - 1, flags) != 0)
                ok = 0;
            first = k + 1;
        }
        if (ok && ni_unix_close_range(first, ~0U, flags) == 0)
            return;
        if (flags == 0)
            break;
    }
#if defined(__linux__)
    if (close_by_walking_proc(a, error_fd) == 0)
        return;
#endif
    struct rlimit limit;
    long max = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY ? (long)limit.rlim_cur : 65536;
    if (max > 1048576)
        max = 1048576;
    for (long fd = 0; fd < max; fd++)
        if (fd != error_fd && !is_kept(a, (int)fd))
            close((int)fd);
}

/* The child, between clone and execve. It shares the parent's memory (CLONE_VM) while the parent
   waits (CLONE_VFORK), so only async-signal-safe calls, and no allocation. */
NI_CHILD_CODE static int child_main(void* arg)
{
    const struct spawn_args* a = arg;
    int error_fd = a->error_fd;

    /* No handler of the parent may run here: caught signals go back to the default. */
    for (int sig = 1; sig < NSIG; sig++)
    {
        struct sigaction action;
        if (sigaction(sig, NULL, &action) != 0)
            continue; /* a libc-internal signal */
        int ignored = action.sa_handler == SIG_IGN;
        if (action.sa_handler == SIG_DFL || (ignored && !(sig == SIGPIPE && (a->flags & NI_SPAWN_DEFAULT_SIGPIPE))))
            continue;
        memset(&action, 0, sizeof action);
        action.sa_handler = SIG_DFL;
        sigaction(sig, &action, NULL);
    }

    /* The report pipe and the temporary copies go above every target, so that no dup2 below can
       overwrite a source that a later mapping still needs. */
    int above = a->max_target + 1;
    if (error_fd < above)
    {
#if HAVE_F_DUPFD_CLOEXEC
        int moved = fcntl(error_fd, F_DUPFD_CLOEXEC, above);
#else
        int moved = fcntl(error_fd, F_DUPFD, above);
        if (moved >= 0)
            fcntl(moved, F_SETFD, FD_CLOEXEC);
#endif
        if (moved < 0)
            report_and_exit(error_fd, errno, 1);
        error_fd = moved;
    }
    for (int32_t i = 0; i < a->count; i++)
    {
        a->temps[i] = fcntl((int)a->mappings[i].source, F_DUPFD, above);
        if (a->temps[i] < 0)
            report_and_exit(error_fd, errno, 2);
    }
    for (int32_t i = 0; i < a->count; i++)
    {
        int rc;
        while ((rc = dup2(a->temps[i], a->targets[i])) < 0 && (errno == EINTR || errno == EBUSY)) { }
        if (rc < 0)
            report_and_exit(error_fd, errno, 3);
    }
    /* Everything else goes, the temporary copies included; error_fd closes itself at execve. */
    close_the_rest(a, error_fd);

    if (a->cwd != NULL && chdir(a->cwd) != 0)
        report_and_exit(error_fd, errno, 4);
    block_signals(&a->old_mask, NULL);
    execve(a->path, a->argv, a->envp);
    report_and_exit(error_fd, errno, 5);
    return 127;
}

static int compare_ints(const void* x, const void* y)
{
    int a = *(const int*)x, b = *(const int*)y;
    return (a > b) - (a < b);
}

#define NI_SPAWN_STACK_SIZE (64 * 1024)

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (path == NULL || argv == NULL || result == NULL || mapping_count < 0 ||
        (mappings == NULL && mapping_count > 0) || (flags & ~NI_SPAWN_KNOWN) != 0)
        return EINVAL;

    /* The caller's mappings, plus this process's open standard streams under NI_SPAWN_INHERIT_STDIO. */
    size_t count = (size_t)mapping_count;
    ni_fd_mapping* all = malloc(sizeof(ni_fd_mapping) * (count + 3));
    int* ints = malloc(sizeof(int) * (count * 3 + 10));
    if (all == NULL || ints == NULL)
    {
        free(all);
        free(ints);
        return ENOMEM;
    }
    if (count > 0)
        memcpy(all, mappings, sizeof(ni_fd_mapping) * count);
    if (flags & NI_SPAWN_INHERIT_STDIO)
    {
        for (int32_t std = 0; std <= 2; std++)
        {
            int named = 0;
            for (size_t i = 0; i < (size_t)mapping_count; i++)
                named |= mappings[i].target == std || (mappings[i].target == NI_SPAWN_SAME_NUMBER && mappings[i].source == std);
            if (!named && fcntl(std, F_GETFD) >= 0)
            {
                all[count].source = std;
                all[count].target = std;
                count++;
            }
        }
    }
    mappings = all;
    mapping_count = (int32_t)count;
    int* targets = ints;
    int* temps = ints + count;
    int* keep = ints + count * 2;
    int max_target = -1;
    for (size_t i = 0; i < count; i++)
    {
        int64_t source = (int64_t)mappings[i].source;
        int32_t target = mappings[i].target;
        /* The child casts sources to int: a value above INT_MAX would wrap onto another descriptor. INT_MAX
           itself is no target (it is above any RLIMIT_NOFILE, and the child's copies go above the targets). */
        if (source < 0 || source > INT_MAX)
        {
            free(ints), free(all);
            return EBADF;
        }
        if (target == NI_SPAWN_SAME_NUMBER)
            target = (int32_t)source;
        if (target == INT_MAX)
        {
            free(ints), free(all);
            return EBADF;
        }
        if (target < 0)
        {
            free(ints), free(all);
            return EINVAL;
        }
        targets[i] = keep[i] = target;
        if (target > max_target)
            max_target = target;
    }
    qsort(keep, count, sizeof(int), compare_ints);
    for (size_t i = 1; i < count; i++)
    {
        if (keep[i] == keep[i - 1])
        {
            free(ints), free(all);
            return EINVAL; /* two handles for one target */
        }
    }
    /* A source that is not open must fail here: the report pipe below takes the lowest free numbers, so a
       closed source's number would otherwise name our own pipe, and the child would get it. */
    for (size_t i = 0; i < count; i++)
    {
        if (mappings[i].source < 0 || mappings[i].source > 0x7fffffff || fcntl((int)mappings[i].source, F_GETFD) < 0)
        {
            free(ints), free(all);
            return EBADF;
        }
    }

    int report[2];
#if HAVE_PIPE2 && HAVE_O_CLOEXEC
    if (pipe2(report, O_CLOEXEC) < 0)
    {
        int error = errno;
        free(ints), free(all);
        return error;
    }
#else
    if (pipe(report) < 0 || fcntl(report[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(report[1], F_SETFD, FD_CLOEXEC) < 0)
    {
        int error = errno;
        free(ints), free(all);
        return error;
    }
#endif

    struct spawn_args args;
    memset(&args, 0, sizeof args);
    args.path = path;
    args.argv = (char* const*)argv;
    args.envp = envp != NULL ? (char* const*)envp : environ;
    args.cwd = cwd;
    args.mappings = mappings;
    args.count = mapping_count;
    args.targets = targets;
    args.temps = temps;
    args.keep = keep;
    args.max_target = max_target;
    args.error_fd = report[1];
    args.flags = flags;

    pid_t pid;
    int error = 0;
#if defined(__linux__)
    void* stack = mmap(NULL, NI_SPAWN_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
    {
        error = errno;
        close(report[0]);
        close(report[1]);
        free(ints), free(all);
        return error;
    }
#endif
    sigset_t blocked;
    sigfillset(&blocked);
    block_signals(&blocked, &args.old_mask);
#if defined(__linux__)
    /* The stack grows down on every architecture Linux .NET runs on. */
    pid = clone(child_main, (char*)stack + NI_SPAWN_STACK_SIZE, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
#else
    pid = fork();
    if (pid == 0)
        child_main(&args);
#endif
    if (pid < 0)
        error = errno;
    block_signals(&args.old_mask, NULL);
#if defined(__linux__)
    munmap(stack, NI_SPAWN_STACK_SIZE);
#endif
    close(report[1]);
    free(ints), free(all);
    if (pid < 0)
    {
        close(report[0]);
        return error;
    }

    /* EOF: the child reached execve (the pipe is close-on-exec). A report: it failed before, and exited. */
    struct spawn_report child_report;
    ssize_t got;
    size_t have = 0;
    while (have < sizeof child_report)
    {
        got = read(report[0], (char*)&child_report + have, sizeof child_report - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        have += (size_t)got;
    }
    close(report[0]);
    if (have == sizeof child_report)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
        return child_report.error != 0 ? child_report.error : EIO;
    }

    ni_handle handle = NI_INVALID_HANDLE;
#if defined(__linux__)
    long pidfd = syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by definition */
    if (pidfd >= 0)
        handle = (ni_handle)pidfd;
#endif
    result->pid = pid;
    result->handle = handle;
    return 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int32_t decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

/* Other code can collect our child before we do: a .NET runtime that is pid 1 (a container without an init)
   reaps every child on SIGCHLD, and with SIGCHLD ignored the kernel does. Since Linux 6.15 the pidfd keeps
   the wait status (PIDFD_GET_INFO with PIDFD_INFO_EXIT; the layout is the kernel's struct pidfd_info, which
   older headers lack). Returns whether it gave the status. */
#if defined(__linux__)
struct ni_pidfd_info
{
    uint64_t mask, cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
    uint32_t coredump_mask, spare;
};
#  define NI_PIDFD_GET_INFO _IOWR(0xFF, 11, struct ni_pidfd_info)
#  define NI_PIDFD_INFO_EXIT (UINT64_C(1) << 3)
#endif

static int status_kept_by_pidfd(const ni_process* process, int* status)
{
#if defined(__linux__)
    if (process->handle == NI_INVALID_HANDLE)
        return 0;
    /* ECHILD comes as soon as the child is marked dead, a moment before its release records the status; in
       between the ioctl fails with ESRCH or leaves PIDFD_INFO_EXIT out. Before 6.15 it stays so: a quarter
       of a second, then the status is taken as gone. */
    for (int ms = 0; ms <= 250; ms++)
    {
        struct ni_pidfd_info info;
        memset(&info, 0, sizeof info);
        info.mask = NI_PIDFD_INFO_EXIT;
        /* The request as an int: musl declares the parameter int, glibc unsigned long (the kernel reads 32 bits). */
        if (ioctl(ni_unix_fd(process->handle), (int)NI_PIDFD_GET_INFO, &info) == 0)
        {
            if (info.mask & NI_PIDFD_INFO_EXIT)
            {
                *status = info.exit_code;
                return 1;
            }
        }
        else if (errno != ESRCH)
            return 0; /* no PIDFD_GET_INFO: before Linux 6.13, or an emulator */
        poll(NULL, 0, 1);
    }
    return 0;
#else
    (void)process, (void)status;
    return 0;
#endif
}

int32_t ni_wait(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code)
{
    if (process == NULL || exited == NULL || exit_code == NULL || process->pid <= 0 || timeout_ms < -1)
        return EINVAL;
    pid_t pid = (pid_t)process->pid;
    int status = 0;
    pid_t rc;
    if (timeout_ms == -1)
    {
        /* This pid only: never waitpid(-1), which would steal other code's children. */
        while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR) { }
        int error = rc < 0 ? errno : 0;
        if (error != 0 && !(error == ECHILD && status_kept_by_pidfd(process, &status)))
            return error;
        *exited = 1;
        *exit_code = decode_status(status);
        return 0;
    }

    int64_t deadline = now_ms() + timeout_ms;
    int sleep_ms = 1;
    for (;;)
    {
        while ((rc = waitpid(pid, &status, WNOHANG)) < 0 && errno == EINTR) { }
        int error = rc < 0 ? errno : 0;
        if (error == ECHILD && status_kept_by_pidfd(process, &status))
            rc = pid;
        else if (error != 0)
            return error;
        if (rc == pid)
        {
            *exited = 1;
            *exit_code = decode_status(status);
            return 0;
        }
        int64_t left = deadline - now_ms();
        if (left <= 0)
        {
            *exited = 0;
            return 0;
        }
        if (process->handle != NI_INVALID_HANDLE)
        {
            /* A pidfd becomes readable when the process exits. */
            struct pollfd p = { ni_unix_fd(process->handle), POLLIN, 0 };
            if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
                return errno;
        }
        else
        {
            int ms = left < sleep_ms ? (int)left : sleep_ms;
            struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
            nanosleep(&ts, NULL);
            if (sleep_ms < 50)
                sleep_ms *= 2;
        }
    }
}

int32_t ni_wait_for_exit(const ni_process* process, int32_t timeout_ms, int32_t* exited)
{
    if (process == NULL || exited == NULL || process->pid <= 0 || timeout_ms < -1)
        return EINVAL;
    int64_t deadline = now_ms() + timeout_ms;
    int sleep_ms = 1;
    for (;;)
    {
        int64_t left = timeout_ms == -1 ? -1 : deadline - now_ms();
        if (timeout_ms != -1 && left < 0)
            left = 0;
        if (process->handle != NI_INVALID_HANDLE)
        {
            /* A pidfd becomes readable when the process exits, and stays so after it is collected. */
            struct pollfd p = { ni_unix_fd(process->handle), POLLIN, 0 };
            int n = poll(&p, 1, (int)left);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return errno;
            if (n > 0 && (p.revents & POLLNVAL))
                return EBADF;
            *exited = n > 0;
            return 0;
        }
        siginfo_t info;
        memset(&info, 0, sizeof info);
        /* WNOWAIT: the child stays a zombie, for ni_wait to collect. */
        if (waitid(P_PID, (id_t)process->pid, &info, WEXITED | WNOWAIT | (timeout_ms == -1 ? 0 : WNOHANG)) < 0)
        {
            if (errno == EINTR)
                continue;
            return errno;
        }
        if (info.si_pid != 0 || left == 0)
        {
            *exited = info.si_pid != 0;
            return 0;
        }
        int ms = left < sleep_ms ? (int)left : sleep_ms;
        struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
        nanosleep(&ts, NULL);
        if (sleep_ms < 50)
            sleep_ms *= 2;
    }
}

int32_t ni_kill(const ni_process* process, int32_t signal)
{
    if (process == NULL || process->pid <= 0 || signal < 0)
        return EINVAL;
#if defined(__linux__)
    if (process->handle != NI_INVALID_HANDLE)
    {
        if (syscall(SYS_pidfd_send_signal, ni_unix_fd(process->handle), signal, NULL, 0) == 0)
            return 0;
        if (errno != ENOSYS)
            return errno;
    }
#endif
    return kill((pid_t)process->pid, signal) == 0 ? 0 : errno;
}

int32_t ni_process_close(ni_process* process)
{
    if (process == NULL)
        return EINVAL;
    ni_handle handle = process->handle;
    process->handle = NI_INVALID_HANDLE;
    if (handle != NI_INVALID_HANDLE && close(ni_unix_fd(handle)) < 0 && errno != EINTR)
        return errno;
    return 0;
}
