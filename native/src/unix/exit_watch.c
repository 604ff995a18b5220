/* ni_exit_watcher_*: one thread waiting for the exits of many children on their pidfds (the kernel layer's exit
   set: epoll on Linux; none elsewhere). */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>

int32_t ni_exit_watcher_create(ni_handle* watcher)
{
    if (watcher == NULL)
        return EINVAL;
    int set;
    int32_t error = ni_sys_exit_set_create(&set);
    if (error == 0)
        *watcher = (ni_handle)set;
    return error;
}

int32_t ni_exit_watcher_add(ni_handle watcher, const ni_process* process, int64_t key)
{
    if (process == NULL)
        return EINVAL;
    if (process->handle == NI_INVALID_HANDLE)
        return ENOTSUP; /* no pidfd: nothing the set could wait on */
    int set = ni_unix_fd(watcher), pidfd = ni_unix_fd(process->handle);
    if (set < 0 || pidfd < 0)
        return EBADF;
    int32_t error = ni_sys_exit_set_add(set, pidfd, key);
    return error == EINVAL ? EBADF : error; /* EINVAL: `watcher` is a descriptor, but no exit set */
}

int32_t ni_exit_watcher_wait(ni_handle watcher, int32_t timeout_ms, int64_t* keys, int32_t capacity, int32_t* count)
{
    if (keys == NULL || count == NULL || capacity < 1 || timeout_ms < -1)
        return EINVAL;
    int set = ni_unix_fd(watcher);
    if (set < 0)
        return EBADF;
    int64_t deadline = ni_unix_deadline(timeout_ms);
    int32_t error;
    while ((error = ni_sys_exit_set_wait(set, timeout_ms, keys, capacity, count)) == EINTR)
        timeout_ms = ni_unix_time_left(deadline);
    return error == EINVAL ? EBADF : error;
}
