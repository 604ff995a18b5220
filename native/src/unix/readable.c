/* ni_wait_readable: one thread waiting on two pipes (poll). */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <poll.h>

/* The pollfd of a handle: NI_INVALID_HANDLE is no descriptor (-1, which poll skips); any other value that
   names no descriptor is EBADF (ni_unix_fd would make it -1 too, and poll would skip it silently). */
static int32_t poll_entry(ni_handle handle, struct pollfd* entry)
{
    entry->fd = ni_unix_fd(handle);
    entry->events = POLLIN;
    entry->revents = 0;
    return handle != NI_INVALID_HANDLE && entry->fd < 0 ? EBADF : 0;
}

int32_t ni_wait_readable(ni_handle first, ni_handle second, int32_t timeout_ms, int32_t* ready)
{
    if (ready == NULL || timeout_ms < -1 || (first == NI_INVALID_HANDLE && second == NI_INVALID_HANDLE))
        return EINVAL;
    struct pollfd entries[2];
    int32_t error = poll_entry(first, &entries[0]);
    if (error == 0)
        error = poll_entry(second, &entries[1]);
    if (error != 0)
        return error;
    int64_t deadline = ni_unix_deadline(timeout_ms);
    int n;
    while ((n = poll(entries, 2, timeout_ms)) < 0 && errno == EINTR)
        timeout_ms = ni_unix_time_left(deadline);
    if (n < 0)
        return errno;
    if ((entries[0].revents | entries[1].revents) & POLLNVAL)
        return EBADF;
    /* POLLHUP (every writer gone) and POLLERR count: a read returns at once, with the end or the error. */
    *ready = (entries[0].revents != 0 ? NI_READABLE_FIRST : 0) | (entries[1].revents != 0 ? NI_READABLE_SECOND : 0);
    return 0;
}
