/*
 * The POSIX layer under the capability files (declared in unix.h): the creating calls, close-on-exec in the
 * call itself where the system has the atomic form (the HAVE_* feature checks of cmake/configure.cmake) and
 * set right after where it does not; advisory locks; the walks over the descriptor table; and
 * ni_capabilities, which reports what those checks found.
 */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#if HAVE_FLOCK
#  include <sys/file.h>
#endif

#ifndef O_CLOEXEC
#  define O_CLOEXEC 0
#endif

#if defined(__GLIBC__) && defined(__x86_64__)
/* glibc 2.32 and 2.34 moved these into libc under new versions; the old ones keep the floor (2.17), and
   libpthread (needed by the library, see native/CMakeLists.txt) provides them on glibc before that. */
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
#elif defined(__GLIBC__) && defined(__aarch64__)
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.17");
#endif

/* The descriptor limit asked for every number when the table cannot be listed: RLIMIT_NOFILE, at most
   this (a limit of "infinity" would make the walk endless). */
#define NI_SCAN_LIMIT_MAX 1048576L

uint32_t ni_capabilities(void)
{
    /* What the build found is what runs: the fallbacks below exist only where a HAVE_* is 0. */
    uint32_t caps = 0;
#if HAVE_O_CLOEXEC
    caps |= NI_CAP_OPEN_ATOMIC;
#endif
#if HAVE_SOCK_CLOEXEC
    caps |= NI_CAP_SOCKET_ATOMIC;
#endif
#if HAVE_ACCEPT4 && HAVE_SOCK_CLOEXEC
    caps |= NI_CAP_ACCEPT_ATOMIC;
#endif
#if HAVE_PIPE2 && HAVE_O_CLOEXEC
    caps |= NI_CAP_PIPE_ATOMIC;
#endif
#if HAVE_F_DUPFD_CLOEXEC
    caps |= NI_CAP_DUP_ATOMIC;
#endif
    return caps;
}

int64_t ni_unix_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ni_unix_deadline(int32_t timeout_ms)
{
    return timeout_ms < 0 ? INT64_MAX : ni_unix_now_ms() + timeout_ms;
}

int32_t ni_unix_time_left(int64_t deadline)
{
    if (deadline == INT64_MAX)
        return -1;
    int64_t left = deadline - ni_unix_now_ms();
    return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int32_t)left;
}

void ni_unix_close_quietly(int fd)
{
    int saved = errno;
    close(fd); /* on Linux the descriptor is released even when close reports EINTR */
    errno = saved;
}

int32_t ni_unix_start_thread(void* (*fn)(void*), void* arg)
{
    pthread_attr_t attributes;
    int error = pthread_attr_init(&attributes);
    if (error != 0)
        return error;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    /* The new thread starts with its creator's mask; pthread_sigmask leaves the libc's own signals alone. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t thread;
    error = pthread_create(&thread, &attributes, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attributes);
    return error;
}

int32_t ni_unix_release(ni_handle* handle)
{
    ni_handle fd = *handle;
    *handle = NI_INVALID_HANDLE;
    if (fd != NI_INVALID_HANDLE && close(ni_unix_fd(fd)) < 0 && errno != EINTR)
        return errno;
    return 0;
}

/* The non-atomic fallback: FD_CLOEXEC on a descriptor just created without it; closed if that fails.
   Unused where every creating call has its atomic form. */
__attribute__((unused)) static int32_t cloexec_or_close(int fd)
{
    int32_t error = ni_sys_set_cloexec(fd, 1);
    if (error != 0)
        ni_unix_close_quietly(fd);
    return error;
}

/* The same for both ends of a pipe or socket pair: on failure neither is left open. */
__attribute__((unused)) static int32_t cloexec_both_or_close(int fds[2])
{
    int32_t error = cloexec_or_close(fds[0]);
    if (error != 0)
        ni_unix_close_quietly(fds[1]);
    else if ((error = cloexec_or_close(fds[1])) != 0)
        ni_unix_close_quietly(fds[0]);
    return error;
}

int32_t ni_unix_open(const char* path, int flags, mode_t mode, int* fd)
{
    int result;
    while ((result = open(path, flags | O_CLOEXEC, mode)) < 0 && errno == EINTR) { }
    if (result < 0)
        return errno;
#if !HAVE_O_CLOEXEC
    int32_t error = cloexec_or_close(result);
    if (error != 0)
        return error;
#endif
    *fd = result;
    return 0;
}

int32_t ni_unix_pipe(int fds[2])
{
#if HAVE_PIPE2 && HAVE_O_CLOEXEC
    return pipe2(fds, O_CLOEXEC) == 0 ? 0 : errno;
#else
    if (pipe(fds) < 0)
        return errno;
    return cloexec_both_or_close(fds);
#endif
}

NI_CHILD_CODE int32_t ni_unix_dup_from(int fd, int from, int cloexec, int* copy)
{
    int result;
#if HAVE_F_DUPFD_CLOEXEC
    while ((result = fcntl(fd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, from)) < 0 && errno == EINTR) { }
    if (result < 0)
        return errno;
#else
    while ((result = fcntl(fd, F_DUPFD, from)) < 0 && errno == EINTR) { }
    if (result < 0)
        return errno;
    if (cloexec && fcntl(result, F_SETFD, FD_CLOEXEC) < 0)
    {
        int error = errno;
        close(result);
        return error;
    }
#endif
    *copy = result;
    return 0;
}

int32_t ni_unix_dup(int fd, int* copy)
{
    return ni_unix_dup_from(fd, 0, 1, copy);
}

int32_t ni_unix_socket(int family, int type, int protocol, int* fd)
{
#if HAVE_SOCK_CLOEXEC
    int result = socket(family, type | SOCK_CLOEXEC, protocol);
    if (result < 0)
        return errno;
#else
    int result = socket(family, type, protocol);
    if (result < 0)
        return errno;
    int32_t error = cloexec_or_close(result);
    if (error != 0)
        return error;
#endif
    *fd = result;
    return 0;
}

int32_t ni_unix_accept(int listener, struct sockaddr* address, socklen_t* length, int* fd)
{
    int result;
#if HAVE_ACCEPT4 && HAVE_SOCK_CLOEXEC
    while ((result = accept4(listener, address, length, SOCK_CLOEXEC)) < 0 && errno == EINTR) { }
    if (result < 0)
        return errno;
#else
    while ((result = accept(listener, address, length)) < 0 && errno == EINTR) { }
    if (result < 0)
        return errno;
    int32_t error = cloexec_or_close(result);
    if (error != 0)
        return error;
#endif
    *fd = result;
    return 0;
}

/* SO_NOSIGPIPE where send() has no MSG_NOSIGNAL (macOS): a write to a closed peer fails, never raises SIGPIPE. */
static void no_sigpipe(int fd)
{
#if !defined(MSG_NOSIGNAL) && defined(SO_NOSIGPIPE)
    int on = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof on);
#else
    (void)fd;
#endif
}

int32_t ni_unix_socketpair(int fds[2])
{
#if HAVE_SOCK_CLOEXEC
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        return errno;
#else
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
        return errno;
    int32_t error = cloexec_both_or_close(fds);
    if (error != 0)
        return error;
#endif
    no_sigpipe(fds[0]);
    no_sigpipe(fds[1]);
    return 0;
}

int32_t ni_unix_lock(int fd, int exclusive)
{
#if HAVE_FLOCK
    int rc;
    while ((rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB)) < 0 && errno == EINTR) { }
    if (rc < 0 && (errno == EWOULDBLOCK || errno == EAGAIN))
        return EWOULDBLOCK;
#else
    (void)fd, (void)exclusive;
#endif
    return 0;
}

int32_t ni_unix_try_lock(int fd)
{
#if HAVE_FLOCK
    int rc;
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) < 0 && errno == EINTR) { }
    return rc == 0 ? 0 : errno == EAGAIN ? EWOULDBLOCK : errno;
#else
    (void)fd;
    return ENOSYS;
#endif
}

void ni_unix_unlock(int fd)
{
#if HAVE_FLOCK
    (void)flock(fd, LOCK_UN);
#else
    (void)fd;
#endif
}

void ni_unix_advise(int fd, int random)
{
#if HAVE_POSIX_FADVISE
    (void)posix_fadvise(fd, 0, 0, random ? POSIX_FADV_RANDOM : POSIX_FADV_SEQUENTIAL);
#else
    (void)fd, (void)random;
#endif
}

int ni_unix_seeks_data(int fd)
{
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    return lseek(fd, 0, SEEK_DATA) >= 0 || (errno != EINVAL && !ni_unix_not_supported(errno));
#else
    (void)fd;
    return 0;
#endif
}

int32_t ni_unix_next_extent(int fd, int64_t from, int64_t* data, int64_t* hole)
{
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    off_t start = lseek(fd, (off_t)from, SEEK_DATA);
    if (start < 0)
        return errno;
    off_t end = lseek(fd, start, SEEK_HOLE);
    if (end < 0)
        return errno;
    *data = start;
    *hole = end;
    return 0;
#else
    (void)fd, (void)from, (void)data, (void)hole;
    return EOPNOTSUPP;
#endif
}

/* Every number below the descriptor limit, asked one by one (F_GETFD): where nothing lists the table. */
NI_CHILD_CODE static int32_t scan_fds(ni_fd_visitor visit, void* state)
{
    struct rlimit limit;
    long max = getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY ? (long)limit.rlim_cur
                                                                                        : NI_SCAN_LIMIT_MAX;
    if (max > NI_SCAN_LIMIT_MAX)
        max = NI_SCAN_LIMIT_MAX;
    for (long fd = 0; fd < max; fd++)
    {
        if (fcntl((int)fd, F_GETFD) < 0)
            continue;
        int32_t error = visit((int)fd, state);
        if (error != 0)
            return error;
    }
    return 0;
}

NI_CHILD_CODE int32_t ni_unix_for_each_fd(ni_fd_visitor visit, void* state)
{
    int32_t error = ni_sys_list_fds(visit, state);
    return error == ENOSYS ? scan_fds(visit, state) : error;
}

NI_CHILD_CODE int32_t ni_unix_close_except(const int* keep, int32_t count, unsigned int flags)
{
    unsigned int first = 0;
    for (int32_t i = 0; i < count; i++)
    {
        unsigned int k = (unsigned int)keep[i];
        if (k < first)
            continue; /* a duplicate */
        if (k > first)
        {
            int32_t error = ni_sys_close_range(first, k - 1, flags);
            if (error != 0)
                return error;
        }
        first = k + 1;
    }
    return ni_sys_close_range(first, ~0U, flags);
}

NI_CHILD_CODE int ni_unix_is_kept(const int* keep, int32_t count, int fd)
{
    int32_t low = 0, high = count;
    while (low < high)
    {
        int32_t middle = low + (high - low) / 2;
        if (keep[middle] < fd)
            low = middle + 1;
        else
            high = middle;
    }
    return low < count && keep[low] == fd;
}
