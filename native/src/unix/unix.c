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
