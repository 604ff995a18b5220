/*
 * The kernel layer on Linux (ni_sys_*, declared in unix.h) for processes and terminals: starting a child
 * (clone), pidfds, the parent-death signal, the process list (/proc) and pseudo-terminals
 * (/dev/ptmx). Files, descriptors and the copy engine: linux.c. Calls go through syscall() where libc has no
 * wrapper (pidfd_open, pidfd_send_signal) or may answer from a cache (getpid, getppid in a child sharing our
 * memory).
 */
#define _GNU_SOURCE
#include "unix.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_send_signal
#  define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_open
#  define SYS_pidfd_open 434
#endif

/* The kernel's sigset (64 signals on every architecture we build for): libc's is larger. */
#define NI_KERNEL_SIGSET_SIZE ((size_t)(_NSIG - 1) / 8)

NI_CHILD_CODE void ni_sys_set_signal_mask(const sigset_t* set, sigset_t* old)
{
    /* The raw call also blocks the libc's internal signals, which sigprocmask leaves alone. */
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, set, old, NI_KERNEL_SIGSET_SIZE);
}

/* The kernel's struct sigaction. The handler comes first on every architecture we build for; then the flags, the
   restorer where there is one and the mask, all zero for the default action. Room for the largest of them. */
struct ni_kernel_sigaction
{
    void (*handler)(int);
    unsigned long rest[4];
};

NI_CHILD_CODE void ni_sys_default_signal(int sig, int keep_ignored)
{
    if (sig >= 32 && sig < SIGRTMIN)
        return; /* the libc's own (thread cancellation, set*id calls): its sigaction refuses them */
    struct ni_kernel_sigaction action;
    if (syscall(SYS_rt_sigaction, sig, NULL, &action, NI_KERNEL_SIGSET_SIZE) != 0 || action.handler == SIG_DFL ||
        (action.handler == SIG_IGN && keep_ignored))
        return;
    memset(&action, 0, sizeof action);
    action.handler = SIG_DFL;
    syscall(SYS_rt_sigaction, sig, &action, NULL, NI_KERNEL_SIGSET_SIZE);
}

/* The child's stack: a part of ours that this frame owns until the clone returns. Sharing our memory, the
   child runs on it while we wait (CLONE_VFORK); otherwise it runs on its own copy of it. Its deepest path, the
   descriptor walk where close_range is missing, takes under 8 KiB. No mapping of its own: each munmap would
   interrupt every other thread of ours to flush its TLB. */
#define NI_CHILD_STACK_SIZE (32 * 1024)

int32_t ni_sys_start_child(int (*child)(void*), void* arg, int how, pid_t* pid)
{
    _Alignas(16) char stack[NI_CHILD_STACK_SIZE];
    sigset_t all, old;
    sigfillset(&all);
    ni_sys_set_signal_mask(&all, &old);
    /* The stack grows down on every architecture Linux .NET runs on. */
    int flags = SIGCHLD;
    if (how & NI_CHILD_SHARE_MEMORY)
        flags |= CLONE_VM | CLONE_VFORK;
    if (how & NI_CHILD_SHARE_DESCRIPTORS)
        flags |= CLONE_FILES;
    int result = clone(child, stack + NI_CHILD_STACK_SIZE, flags, arg);
    int error = result < 0 ? errno : 0;
    ni_sys_set_signal_mask(&old, NULL);
    if (error == 0)
        *pid = result;
    return error;
}

/* The probe's innermost child: a mark in the memory it should share with its parent. */
NI_CHILD_CODE static int mark_and_exit(void* mark)
{
    *(volatile int*)mark = 1;
    _exit(0);
    return 0;
}

/* The probe, in a copy of us: a child on its memory and its descriptor table, which marks the memory; the answer
   into a page shared with us. A layer that cannot run that clone may refuse it (qemu-user: EINVAL), run it as a
   fork (the mark stays unset) or end the whole process (valgrind): the copy takes whichever it is, not us. */
NI_CHILD_CODE static int probe_in_copy(void* answer)
{
    /* The copy runs on ni_sys_start_child's stack, whose size leaves room for this small one, not another. Every
       signal is still blocked here (ni_sys_start_child's mask), so no handler runs in either child. */
    _Alignas(16) char stack[4096];
    volatile int mark = 0;
    int pid = clone(mark_and_exit, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, (void*)&mark);
    if (pid > 0)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    }
    *(volatile int*)answer = pid > 0 && mark == 1 ? 1 : 2;
    _exit(0);
    return 0;
}

/* 0: not asked yet; 1: yes; 2: no. */
static volatile int g_can_share_descriptors;

int ni_sys_can_share_descriptors(void)
{
    int known = __atomic_load_n(&g_can_share_descriptors, __ATOMIC_RELAXED);
    if (known != 0)
        return known == 1;
    /* The answer comes through shared memory (no descriptor needed, so it is asked under any descriptor limit),
       not through the copy's exit status, which a runtime that reaps every child (as pid 1) or an ignored SIGCHLD
       would take. Two threads may both ask at first: they find the same. */
    volatile int* answer = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (answer == MAP_FAILED)
        return 0; /* not now */
    pid_t pid;
    if (ni_sys_start_child(probe_in_copy, (void*)answer, 0, &pid) == 0)
    {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
        known = *answer != 0 ? *answer : 2; /* nothing: the copy was ended */
        __atomic_store_n(&g_can_share_descriptors, known, __ATOMIC_RELAXED);
    }
    munmap((void*)answer, sizeof(int));
    return known == 1;
}

NI_CHILD_CODE pid_t ni_sys_own_pid(void)
{
    return (pid_t)syscall(SYS_getpid);
}

int32_t ni_sys_check_spawn_flags(int32_t flags)
{
    (void)flags;
    return 0; /* Linux has everything */
}

void ni_sys_name_thread(const char* name)
{
    prctl(PR_SET_NAME, name, 0, 0, 0);
}

NI_CHILD_CODE int32_t ni_sys_die_with_parent(pid_t parent)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        return errno;
    /* The parent may have died before the signal was armed: then this child has been handed to another
       process already, and must not run. */
    return (pid_t)syscall(SYS_getppid) == parent ? 0 : ESRCH;
}

/* Reads pid, state, parent and group from /proc/<name>/stat: "pid (comm) state ppid pgrp ...", where comm may
   hold spaces and parentheses, so the fields are counted from its last ')'. */
static int read_process(int proc, const char* name, pid_t* pid, char* run_state, pid_t* parent, pid_t* group)
{
    char path[64], text[512];
    snprintf(path, sizeof path, "%s/stat", name);
    int fd;
    while ((fd = openat(proc, path, O_RDONLY | O_CLOEXEC)) < 0 && errno == EINTR) { }
    if (fd < 0)
        return 0; /* gone meanwhile */
    ssize_t n;
    while ((n = read(fd, text, sizeof text - 1)) < 0 && errno == EINTR) { }
    close(fd);
    if (n <= 0)
        return 0;
    text[n] = '\0';
    const char* end = strrchr(text, ')');
    long p, pp, pg;
    if (end == NULL || sscanf(text, "%ld", &p) != 1 || sscanf(end + 1, " %c %ld %ld", run_state, &pp, &pg) != 3)
        return 0;
    *pid = (pid_t)p, *parent = (pid_t)pp, *group = (pid_t)pg;
    return 1;
}

int32_t ni_sys_list_processes(ni_process_visitor visit, void* state)
{
    DIR* dir = opendir("/proc");
    if (dir == NULL)
        return ENOSYS;
    int32_t error = 0;
    struct dirent* entry;
    while (error == 0 && (entry = readdir(dir)) != NULL)
    {
        pid_t pid, parent, group;
        char run_state;
        if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9' &&
            read_process(dirfd(dir), entry->d_name, &pid, &run_state, &parent, &group))
            error = visit(pid, parent, group, run_state, state);
    }
    closedir(dir);
    return error;
}

int32_t ni_sys_pidfd_open(pid_t pid, int* fd)
{
    long result = syscall(SYS_pidfd_open, pid, 0); /* close-on-exec by definition */
    if (result < 0)
        return errno;
    *fd = (int)result;
    return 0;
}

int32_t ni_sys_pidfd_signal(int pidfd, int signal)
{
    return syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0) == 0 ? 0 : errno;
}

int32_t ni_sys_exit_set_create(int* set)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0)
        return errno;
    *set = fd;
    return 0;
}

int32_t ni_sys_exit_set_add(int set, int pidfd, int64_t key)
{
    /* One-shot: a pidfd stays readable after the exit, and the child's owner may keep it open for long. */
    struct epoll_event event = { .events = EPOLLIN | EPOLLONESHOT, .data = { .u64 = (uint64_t)key } };
    return epoll_ctl(set, EPOLL_CTL_ADD, pidfd, &event) == 0 ? 0 : errno;
}

int32_t ni_sys_exit_set_wait(int set, int32_t timeout_ms, int64_t* keys, int32_t capacity, int32_t* count)
{
    struct epoll_event events[64];
    int n = epoll_wait(set, events, capacity < 64 ? capacity : 64, timeout_ms);
    if (n < 0)
        return errno;
    for (int i = 0; i < n; i++)
        keys[i] = (int64_t)events[i].data.u64;
    *count = n;
    return 0;
}

/* The kernel's struct pidfd_info (linux/pidfd.h, 6.13+; exit_code from 6.15), which older headers lack. */
struct ni_pidfd_info
{
    uint64_t mask, cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
    uint32_t coredump_mask, spare;
};
#define NI_PIDFD_GET_INFO _IOWR(0xFF, 11, struct ni_pidfd_info)
#define NI_PIDFD_INFO_EXIT (UINT64_C(1) << 3)

int32_t ni_sys_pidfd_exit_status(int pidfd, int* status)
{
    struct ni_pidfd_info info;
    memset(&info, 0, sizeof info);
    info.mask = NI_PIDFD_INFO_EXIT;
    /* The request as an int: musl declares the parameter int, glibc unsigned long (the kernel reads 32 bits). */
    if (ioctl(pidfd, (int)NI_PIDFD_GET_INFO, &info) == 0)
    {
        if (!(info.mask & NI_PIDFD_INFO_EXIT))
            return EAGAIN;
        *status = info.exit_code;
        return 0;
    }
    /* ESRCH: the child is gone and its status not recorded, yet or ever (6.13, 6.14). Anything else: no
       PIDFD_GET_INFO (ENOTTY, EINVAL before 6.13, or an emulator). */
    return errno == ESRCH ? EAGAIN : ENOSYS;
}

/* ---- Terminals ---- */

#ifndef TIOCGPTPEER
#  define TIOCGPTPEER _IO('T', 0x41) /* Linux 4.13; older headers lack it */
#endif

/* The slave of `master`: TIOCGPTPEER opens it from the master itself (no path lookup, close-on-exec in the
   call); before Linux 4.13, by its name in /dev/pts. */
static int32_t open_slave(int master, int* slave)
{
    int fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd >= 0)
    {
        *slave = fd;
        return 0;
    }
    if (errno != EINVAL && errno != ENOTTY)
        return errno;
    unsigned int number;
    if (ioctl(master, TIOCGPTN, &number) != 0)
        return errno;
    char name[32];
    snprintf(name, sizeof name, "/dev/pts/%u", number);
    return ni_unix_open(name, O_RDWR | O_NOCTTY, 0, slave);
}

int32_t ni_sys_open_pty(int* master, int* slave)
{
    /* What posix_openpt, grantpt and unlockpt come to on Linux: devpts gives the slave its owner and mode
       itself, so grantpt has nothing to do. */
    int fd;
    int32_t error = ni_unix_open("/dev/ptmx", O_RDWR | O_NOCTTY, 0, &fd);
    if (error != 0)
        return error;
    int unlock = 0;
    error = ioctl(fd, TIOCSPTLCK, &unlock) == 0 ? open_slave(fd, slave) : errno;
    if (error != 0)
    {
        ni_unix_close_quietly(fd);
        return error;
    }
    *master = fd;
    return 0;
}
