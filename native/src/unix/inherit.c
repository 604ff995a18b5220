/* ni_pipe, ni_dup, ni_close and the inheritable flag itself. */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int32_t ni_pipe(ni_handle* read_end, ni_handle* write_end)
{
    if (read_end == NULL || write_end == NULL)
        return EINVAL;
    int fds[2];
    int32_t error = ni_unix_pipe(fds);
    if (error != 0)
        return error;
    *read_end = (ni_handle)fds[0];
    *write_end = (ni_handle)fds[1];
    return 0;
}

int32_t ni_dup(ni_handle handle, ni_handle* result)
{
    if (result == NULL)
        return EINVAL;
    int fd;
    int32_t error = ni_unix_dup(ni_unix_fd(handle), &fd);
    if (error != 0)
        return error;
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
    return ni_sys_set_cloexec(ni_unix_fd(handle), !inheritable);
}
