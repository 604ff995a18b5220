/* ni_exit_watcher_*: not on Windows, where the thread pool waits on process handles (RegisterWaitForSingleObject). */
#include "win.h"

int32_t ni_exit_watcher_create(ni_handle* watcher)
{
    return watcher == NULL ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_exit_watcher_add(ni_handle watcher, const ni_process* process, int64_t key)
{
    (void)watcher, (void)key;
    return process == NULL ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_exit_watcher_wait(ni_handle watcher, int32_t timeout_ms, int64_t* keys, int32_t capacity, int32_t* count)
{
    (void)watcher;
    if (keys == NULL || count == NULL || capacity < 1 || timeout_ms < -1)
        return ERROR_INVALID_PARAMETER;
    return ERROR_NOT_SUPPORTED;
}
