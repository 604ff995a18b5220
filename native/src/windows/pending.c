/*
 * STOPGAP, to be replaced: the entry points noinherit.h gained for issues 14, 15 and 18 (ni_process_resume,
 * ni_signal_group, ni_kill_tree, ni_pty_*), which the Windows side does not implement yet. They exist so that
 * noinherit.dll exports what the header declares (cmake/check_abi.cmake); each answers ERROR_NOT_SUPPORTED
 * after the same argument checks as POSIX. The Windows implementation (ResumeThread, job objects,
 * CTRL_BREAK_EVENT, ConPTY) replaces this file.
 */
#include "win.h"

int32_t ni_process_resume(ni_process* process)
{
    return process == NULL ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_signal_group(const ni_process* process, int32_t signal)
{
    return process == NULL || process->pid <= 0 || signal < 0 ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_kill_tree(const ni_process* process, int32_t signal)
{
    return process == NULL || process->pid <= 0 || signal <= 0 ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_pty_open(int32_t columns, int32_t rows, ni_pty* result)
{
    (void)columns, (void)rows;
    return result == NULL ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_pty_resize(const ni_pty* pty, int32_t columns, int32_t rows)
{
    (void)columns, (void)rows;
    return pty == NULL ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}

int32_t ni_pty_close(ni_pty* pty)
{
    return pty == NULL ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
}
