/* ni_wait, ni_wait_status, ni_wait_for_exit, ni_kill, ni_process_resume, ni_process_close on Win32: a started
   child's process handle and, while it is suspended (NI_SPAWN_SUSPENDED), its primary thread. Its job: job.c.
   ni_signal_number (Windows has no signals, but ni_kill terminates). */
#include "win.h"

static int usable(const ni_process* process, int32_t timeout_ms)
{
    return process != NULL && process->handle != NI_INVALID_HANDLE && timeout_ms >= -1;
}

/* Waits up to timeout_ms (-1: no limit) for the process handle to be signalled; 0 or a Win32 error. */
static DWORD wait_exit(const ni_process* process, int32_t timeout_ms, int32_t* exited)
{
    DWORD rc = WaitForSingleObject((HANDLE)process->handle, timeout_ms == -1 ? INFINITE : (DWORD)timeout_ms);
    if (rc == WAIT_FAILED)
        return GetLastError();
    *exited = rc == WAIT_OBJECT_0;
    return 0;
}

int32_t ni_wait(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code)
{
    int32_t signal;
    return ni_wait_status(process, timeout_ms, exited, exit_code, &signal);
}

int32_t ni_wait_status(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code,
                       int32_t* signal)
{
    if (!usable(process, timeout_ms) || exited == NULL || exit_code == NULL || signal == NULL)
        return ERROR_INVALID_PARAMETER;
    int32_t done = 0;
    DWORD error = wait_exit(process, timeout_ms, &done);
    if (error != 0)
        return (int32_t)error;
    DWORD code = 0;
    if (done && !GetExitCodeProcess((HANDLE)process->handle, &code))
        return (int32_t)GetLastError();
    *exited = done;
    if (done)
    {
        *exit_code = (int32_t)code;
        *signal = 0; /* no process ends by a signal on Windows */
    }
    return 0;
}

int32_t ni_wait_for_exit(const ni_process* process, int32_t timeout_ms, int32_t* exited)
{
    if (!usable(process, timeout_ms) || exited == NULL)
        return ERROR_INVALID_PARAMETER;
    return (int32_t)wait_exit(process, timeout_ms, exited);
}

/* Whether the process has ended or is ending: GetExitCodeProcess gives its code once it is ending,
   and its handle is signalled once it has ended (the only sign when that code is 259, STILL_ACTIVE). */
static int has_exited(HANDLE process)
{
    DWORD code;
    return (GetExitCodeProcess(process, &code) && code != STILL_ACTIVE) || WaitForSingleObject(process, 0) == WAIT_OBJECT_0;
}

int32_t ni_signal_number(int32_t signal)
{
    return signal == NI_SIGKILL ? NI_WIN_SIGKILL : 0;
}

int32_t ni_kill(const ni_process* process, int32_t signal)
{
    if (!usable(process, 0) || signal < 0)
        return ERROR_INVALID_PARAMETER;
    /* One code that means only "already gone", as ESRCH does on POSIX. Looked at first, as wine's
       TerminateProcess succeeds on a process that has exited; Windows' fails with
       ERROR_ACCESS_DENIED (which also means a handle without the right) when it exits meanwhile. */
    HANDLE handle = (HANDLE)process->handle;
    if (has_exited(handle))
        return ERROR_NOTHING_TO_TERMINATE;
    if (signal == 0)
        return 0; /* as kill(pid, 0) on POSIX: only checks that the child is still there */
    if (TerminateProcess(handle, (UINT)-1))
        return 0;
    DWORD error = GetLastError();
    return error == ERROR_ACCESS_DENIED && has_exited(handle) ? ERROR_NOTHING_TO_TERMINATE : (int32_t)error;
}

int32_t ni_process_resume(ni_process* process)
{
    if (process == NULL || process->pid <= 0 || process->resume == NI_INVALID_HANDLE)
        return ERROR_INVALID_PARAMETER;
    HANDLE thread = (HANDLE)process->resume;
    process->resume = NI_INVALID_HANDLE;
    int32_t error = 0;
    /* A thread that has ended (the child was killed while it waited) is signalled; ResumeThread would still
       succeed on it. */
    if (WaitForSingleObject(thread, 0) == WAIT_OBJECT_0)
        error = ERROR_NOTHING_TO_TERMINATE;
    else if (ResumeThread(thread) == (DWORD)-1)
        error = (int32_t)GetLastError();
    CloseHandle(thread);
    return error;
}

/* The exit code of a suspended child released without having been resumed: POSIX's child exits so. */
#define NI_NEVER_RESUMED_CODE 127

int32_t ni_process_close(ni_process* process)
{
    if (process == NULL)
        return ERROR_INVALID_PARAMETER;
    /* Never resumed: it would wait for ever, holding its handles; it ends without running the program. A
       suspended process has only this one thread, so ending it ends the process, handle or not. */
    if (process->resume != NI_INVALID_HANDLE)
    {
        if (process->handle == NI_INVALID_HANDLE || !TerminateProcess((HANDLE)process->handle, NI_NEVER_RESUMED_CODE))
            TerminateThread((HANDLE)process->resume, NI_NEVER_RESUMED_CODE);
    }
    /* Every handle of it, the first failure reported. Closing the job kills nothing: it has no kill-on-close
       limit (job.c). */
    ni_handle* handles[] = { &process->handle, &process->resume, &process->job };
    int32_t error = 0;
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++)
    {
        ni_handle handle = *handles[i];
        *handles[i] = NI_INVALID_HANDLE;
        if (handle != NI_INVALID_HANDLE && !CloseHandle((HANDLE)handle) && error == 0)
            error = (int32_t)GetLastError();
    }
    return error;
}
