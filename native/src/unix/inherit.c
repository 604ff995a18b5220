/* ni_pipe, ni_dup, ni_close and the inheritable flag itself. */
#define _GNU_SOURCE
#include "unix.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

int32_t ni_pipe(ni_handle* read_end, ni_handle* write_end)
{
    if (read_end == NULL || write_end == NULL)
        return EINVAL;
    int fds[2];
#if HAVE_PIPE2 && HAVE_O_CLOEXEC
    if (pipe2(fds, O_CLOEXEC) < 0)
        return errno;
#else
    if (pipe(fds) < 0)
        return errno;
    int error = ni_unix_cloexec_fallback(fds[0], NI_CAP_PIPE_ATOMIC);
    if (error != 0)
    {
        ni_unix_close_quietly(fds[1]);
        return error;
    }
    if ((error = ni_unix_cloexec_fallback(fds[1], NI_CAP_PIPE_ATOMIC)) != 0)
    {
        ni_unix_close_quietly(fds[0]);
        return error;
    }
#endif
    *read_end = (ni_handle)fds[0];
    *write_end = (ni_handle)fds[1];
    return 0;
}

int32_t ni_dup(ni_handle handle, ni_handle* result)
{
    if (result == NULL)
        return EINVAL;
    int fd;
#if HAVE_F_DUPFD_CLOEXEC
    while ((fd = fcntl(ni_unix_fd(handle), F_DUPFD_CLOEXEC, 0)) < 0 && errno == EINTR) { }
    if (fd < 0)
        return errno;
#else
    if ((fd = dup(ni_unix_fd(handle))) < 0)
        return errno;
    int error = ni_unix_cloexec_fallback(fd, NI_CAP_DUP_ATOMIC);
    if (error != 0)
        return error;
#endif
    *result = (ni_handle)fd;
    return 0;
}

int32_t ni_close(ni_handle handle)
{
    if (close(ni_unix_fd(handle)) < 0 && errno != EINTR)
        return errno; /* EINTR: Linux has released the descriptor already; retrying could close another */
    return 0;
}

int32_t ni_get_inheritable(ni_handle handle, int32_t* inheritable)
{
    if (inheritable == NULL)
        return EINVAL;
    int flags = fcntl(ni_unix_fd(handle), F_GETFD);
    if (flags < 0)
        return errno;
    *inheritable = (flags & FD_CLOEXEC) ? 0 : 1;
    return 0;
}

int32_t ni_set_inheritable(ni_handle handle, int32_t inheritable)
{
    if (inheritable != 0 && inheritable != 1)
        return EINVAL;
#if NI_UNIX_FD_FLAGS_ARE_CLOEXEC_ONLY
    /* One call, and the cheapest path to the flag (the ioctl dispatch below costs a little more). */
    return fcntl(ni_unix_fd(handle), F_SETFD, inheritable ? 0 : FD_CLOEXEC) < 0 ? errno : 0;
#else
#  if defined(FIOCLEX) && defined(FIONCLEX)
    /* One system call instead of F_GETFD + F_SETFD; some sandboxes refuse the ioctl. */
    if (ioctl(ni_unix_fd(handle), inheritable ? FIONCLEX : FIOCLEX, NULL) == 0)
        return 0;
    if (errno == EBADF)
        return EBADF;
#  endif
    int flags = fcntl(ni_unix_fd(handle), F_GETFD);
    if (flags < 0)
        return errno;
    int wanted = inheritable ? (flags & ~FD_CLOEXEC) : (flags | FD_CLOEXEC);
    if (wanted != flags && fcntl(ni_unix_fd(handle), F_SETFD, wanted) < 0)
        return errno;
    return 0;
#endif
}
