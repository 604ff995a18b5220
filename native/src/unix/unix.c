#define _GNU_SOURCE
#include "unix.h"

#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#  include <sys/syscall.h>
#endif

/* Capabilities found missing at run time (a kernel that ignored or rejected the atomic flag). */
static volatile uint32_t g_degraded;

int ni_unix_fstat(int fd, struct stat* st)
{
#if defined(__linux__) && defined(__GLIBC__) && defined(SYS_fstat)
    /* glibc >= 2.33 exports fstat@GLIBC_2.33; the raw syscall fills the same struct stat on
       x86_64 and aarch64 and keeps the library loadable on older glibc. */
    return (int)syscall(SYS_fstat, fd, st);
#else
    return fstat(fd, st);
#endif
}

int ni_unix_lstat(const char* path, struct stat* st)
{
#if defined(__linux__) && defined(__GLIBC__) && defined(SYS_newfstatat)
    /* lstat@GLIBC_2.33 likewise: newfstatat(AT_SYMLINK_NOFOLLOW) is the call behind it. */
    return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
#else
    return lstat(path, st);
#endif
}

int ni_unix_cloexec_fallback(int fd, uint32_t capability)
{
    __atomic_or_fetch(&g_degraded, capability, __ATOMIC_RELAXED);
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
    {
        int error = errno;
        ni_unix_close_quietly(fd);
        return error;
    }
    return 0;
}

void ni_unix_close_quietly(int fd)
{
    int saved = errno;
    close(fd); /* on Linux the descriptor is released even when close reports EINTR */
    errno = saved;
}

uint32_t ni_capabilities(void)
{
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
    return caps & ~__atomic_load_n(&g_degraded, __ATOMIC_RELAXED);
}

#if defined(__linux__) && !defined(SYS_close_range) && (defined(__x86_64__) || defined(__aarch64__))
#  define SYS_close_range 436 /* the same number on every architecture since 5.9 */
#endif

#if defined(__linux__) && defined(SYS_close_range)
/* What close_range cannot do here: 1 = nothing (ENOSYS), 2 = CLOSE_RANGE_CLOEXEC (bit 2). */
static volatile int g_close_range_missing;
#endif

int ni_unix_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
#if defined(__linux__) && defined(SYS_close_range)
    int missing = __atomic_load_n(&g_close_range_missing, __ATOMIC_RELAXED);
    if ((missing & 1) || (flags != 0 && (missing & 2)))
        return -1;
    if (syscall(SYS_close_range, first, last, flags) == 0)
        return 0;
    if (errno == ENOSYS || errno == EINVAL)
    {
        __atomic_or_fetch(&g_close_range_missing, errno == ENOSYS ? 1 : (flags != 0 ? 2 : 1), __ATOMIC_RELAXED);
        return -1;
    }
    return errno;
#else
    (void)first, (void)last, (void)flags;
    return -1;
#endif
}
