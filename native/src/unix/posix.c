/*
 * The kernel layer (ni_sys_*, declared in unix.h) for POSIX systems other than Linux: macOS and the BSDs.
 * Plain POSIX calls where they do the job; ENOSYS / EOPNOTSUPP for what only Linux has (close_range with
 * CLOEXEC, /proc/self/fd, pidfds, reflinks, copy_file_range, O_TMPFILE, renameat2), so that the callers
 * take their portable path. Built instead of linux.c (native/CMakeLists.txt), and compiled on Linux too,
 * without being linked, so that it keeps compiling.
 */
#define _GNU_SOURCE /* glibc (ptsname_r), when this file is compile-checked on Linux; other systems show everything by default */
#include "unix.h"

#include <stdlib.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

int32_t ni_sys_fstat(int fd, struct stat* st)
{
    return fstat(fd, st) == 0 ? 0 : errno;
}

int32_t ni_sys_lstat(const char* path, struct stat* st)
{
    return lstat(path, st) == 0 ? 0 : errno;
}

int32_t ni_sys_stat(const char* path, struct stat* st)
{
    return stat(path, st) == 0 ? 0 : errno;
}

struct timespec ni_sys_mtime(const struct stat* st)
{
#if defined(__APPLE__)
    return st->st_mtimespec;
#else
    return st->st_mtim;
#endif
}

int32_t ni_sys_set_cloexec(int fd, int cloexec)
{
#if defined(FIOCLEX) && defined(FIONCLEX)
    /* One system call instead of F_GETFD + F_SETFD; some sandboxes refuse the ioctl. */
    if (ioctl(fd, cloexec ? FIOCLEX : FIONCLEX, NULL) == 0)
        return 0;
    if (errno == EBADF)
        return EBADF;
#endif
    /* Other descriptor flags (FD_CLOFORK...) are kept. */
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
        return errno;
    int wanted = cloexec ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    if (wanted != flags && fcntl(fd, F_SETFD, wanted) < 0)
        return errno;
    return 0;
}

int32_t ni_sys_preallocate(int fd, int64_t length)
{
    (void)fd, (void)length;
    return ENOTSUP;
}

void ni_sys_fd_path(int fd, char* buffer, size_t size)
{
    buffer[0] = '\0';
#if defined(F_GETPATH)
    char path[PATH_MAX];
    if (fcntl(fd, F_GETPATH, path) == 0)
        snprintf(buffer, size, "%s", path);
#else
    (void)fd, (void)size;
#endif
}

NI_CHILD_CODE int32_t ni_sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
    (void)first, (void)last, (void)flags;
    return ENOSYS;
}

NI_CHILD_CODE int32_t ni_sys_list_fds(ni_fd_visitor visit, void* state)
{
    (void)visit, (void)state;
    return ENOSYS;
}

int32_t ni_sys_clone_file(int out, int in)
{
    (void)out, (void)in;
    return EOPNOTSUPP;
}

int32_t ni_sys_copy_file_range(int in, int out, size_t want, size_t* copied)
{
    (void)in, (void)out, (void)want, (void)copied;
    return ENOSYS;
}

int32_t ni_sys_sendfile(int in, int out, size_t want, size_t* copied)
{
    (void)in, (void)out, (void)want, (void)copied;
    return ENOSYS;
}

int32_t ni_sys_open_tmpfile(const char* dir, int* fd)
{
    (void)dir, (void)fd;
    return EOPNOTSUPP;
}

int32_t ni_sys_link_tmpfile(int fd, const char* path)
{
    (void)fd, (void)path;
    return EOPNOTSUPP;
}

int32_t ni_sys_rename_noreplace(const char* from, const char* to)
{
    (void)from, (void)to;
    return ENOSYS;
}

int32_t ni_sys_rename_exchange(const char* a, const char* b)
{
    (void)a, (void)b;
    return ENOSYS;
}

int ni_sys_replace_starts_writeback(int fd)
{
    (void)fd;
    return 0;
}

int ni_sys_journal_covers_file(int fd)
{
    (void)fd;
    return 0;
}

int32_t ni_sys_write_out(int fd)
{
    (void)fd;
    return ENOSYS;
}

void ni_sys_start_write_out(int fd)
{
    (void)fd;
}

int32_t ni_sys_sync(int fd)
{
    int rc;
#if defined(F_FULLFSYNC)
    /* macOS: fsync leaves the data in the drive's cache; F_FULLFSYNC flushes it (some file systems refuse:
       then fsync is all there is). */
    while ((rc = fcntl(fd, F_FULLFSYNC)) < 0 && errno == EINTR) { }
    if (rc == 0)
        return 0;
#endif
    while ((rc = fsync(fd)) < 0 && errno == EINTR) { }
    return rc == 0 || errno == EINVAL ? 0 : errno;
}

NI_CHILD_CODE void ni_sys_set_signal_mask(const sigset_t* set, sigset_t* old)
{
    sigprocmask(SIG_SETMASK, set, old);
}

NI_CHILD_CODE void ni_sys_default_signal(int sig, int keep_ignored)
{
    struct sigaction action;
    if (sigaction(sig, NULL, &action) != 0 || action.sa_handler == SIG_DFL ||
        (action.sa_handler == SIG_IGN && keep_ignored))
        return; /* a libc-internal signal, or nothing to do */
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_DFL;
    sigaction(sig, &action, NULL);
}

int32_t ni_sys_start_child(int (*child)(void*), void* arg, int how, pid_t* pid)
{
    (void)how; /* fork either way: the parent reads the report channel to learn how the child did */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t result = fork();
    if (result == 0)
        _exit(child(arg)); /* the child execs or exits inside child() */
    int error = result < 0 ? errno : 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (error == 0)
        *pid = result;
    return error;
}

int ni_sys_can_share_descriptors(void)
{
    return 0; /* fork: the child's table is a copy from the start */
}

NI_CHILD_CODE int32_t ni_sys_own_descriptors(unsigned int below)
{
    (void)below;
    return ENOSYS;
}

NI_CHILD_CODE pid_t ni_sys_own_pid(void)
{
    return getpid();
}

void ni_sys_name_thread(const char* name)
{
    (void)name; /* only Linux's lasting spawn thread is named (NI_SPAWN_KILL_ON_PARENT_EXIT is Linux's alone) */
}

int32_t ni_sys_check_spawn_flags(int32_t flags)
{
    /* No parent-death signal here (FreeBSD's procctl PROC_PDEATHSIG_CTL would do; not wired up). */
    return (flags & NI_SPAWN_KILL_ON_PARENT_EXIT) ? ENOTSUP : 0;
}

NI_CHILD_CODE int32_t ni_sys_die_with_parent(pid_t parent)
{
    (void)parent;
    return ENOTSUP;
}

int32_t ni_sys_list_processes(ni_process_visitor visit, void* state)
{
    (void)visit, (void)state;
    return ENOSYS; /* no /proc: ni_kill_tree reaches the child and its group */
}

int32_t ni_sys_open_pty(int* master, int* slave)
{
    int fd = posix_openpt(O_RDWR | O_NOCTTY);
    if (fd < 0)
        return errno;
    char name[128];
    int32_t error = ni_sys_set_cloexec(fd, 1); /* not atomic here: posix_openpt takes no O_CLOEXEC everywhere */
    if (error == 0)
        error = grantpt(fd) == 0 && unlockpt(fd) == 0 ? 0 : errno;
    if (error == 0)
        error = ptsname_r(fd, name, sizeof name) == 0 ? 0 : errno; /* glibc returns the errno, macOS -1 */
    if (error == 0)
        error = ni_unix_open(name, O_RDWR | O_NOCTTY, 0, slave);
    if (error != 0)
    {
        ni_unix_close_quietly(fd);
        return error;
    }
    *master = fd;
    return 0;
}

int32_t ni_sys_pidfd_open(pid_t pid, int* fd)
{
    (void)pid, (void)fd;
    return ENOSYS;
}

int32_t ni_sys_exit_set_create(int* set)
{
    (void)set;
    return ENOTSUP;
}

int32_t ni_sys_exit_set_add(int set, int pidfd, int64_t key)
{
    (void)set, (void)pidfd, (void)key;
    return ENOTSUP;
}

int32_t ni_sys_exit_set_wait(int set, int32_t timeout_ms, int64_t* keys, int32_t capacity, int32_t* count)
{
    (void)set, (void)timeout_ms, (void)keys, (void)capacity, (void)count;
    return ENOTSUP;
}

int32_t ni_sys_pidfd_signal(int pidfd, int signal)
{
    (void)pidfd, (void)signal;
    return ENOSYS;
}

int32_t ni_sys_pidfd_exit_status(int pidfd, int* status)
{
    (void)pidfd, (void)status;
    return ENOSYS;
}
