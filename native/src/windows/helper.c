/*
 * The helper process that children of ni_spawn inherit their handles from: started once, ended with
 * this process by a job object; handles are duplicated into it and closed there again.
 *
 * Why: a handle must be inheritable to be named in PROC_THREAD_ATTRIBUTE_HANDLE_LIST, and while one
 * of ours is, another thread's CreateProcess(bInheritHandles=TRUE) without a list (Process.Start)
 * hands it to its own child. So ours never are: the duplicates in the helper are, and the child is
 * created with PROC_THREAD_ATTRIBUTE_PARENT_PROCESS = the helper (docs/architecture.md has the whole
 * story). The helper only has to exist: a system program (cmd.exe) created suspended never runs a
 * line, and with bInheritHandles=FALSE it holds nothing but the duplicates of the spawns under way.
 * It cannot wait for us (it never runs), so a job does: KILL_ON_JOB_CLOSE ends it when the job's
 * last handle, ours, closes, however this process ends; SILENT_BREAKAWAY_OK keeps its children (ours)
 * out of that job, so they outlive us as Process.Start's do. Where the job cannot be set up (a job
 * of ours with UI limits cannot nest), the helper is ended at exit instead.
 */
#include "win.h"

#include <stdlib.h>
#include <string.h>

static INIT_ONCE g_helper_once = INIT_ONCE_STATIC_INIT;
static HANDLE g_helper;
static DWORD g_helper_error;

static void end_helper(void)
{
    TerminateProcess(g_helper, 0);
}

/* The helper, created suspended and without inheritance; 0 or a Win32 error. */
static DWORD create_helper(HANDLE* process)
{
    wchar_t exe[MAX_PATH + 16];
    UINT n = GetSystemDirectoryW(exe, MAX_PATH);
    if (n == 0)
        return GetLastError();
    if (n >= MAX_PATH)
        return ERROR_BUFFER_OVERFLOW;
    wcscpy(exe + n, L"\\cmd.exe");
    wchar_t line[] = L"cmd.exe";
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(exe, line, NULL, NULL, FALSE, CREATE_SUSPENDED | CREATE_NO_WINDOW, NULL, NULL, &si, &pi))
        return GetLastError();
    CloseHandle(pi.hThread);
    *process = pi.hProcess;
    return 0;
}

/* A kill-on-close job holding `process`, whose handle stays open for the life of this process;
   0 or a Win32 error (then no job is left). */
static DWORD bind_to_job(HANDLE process)
{
    HANDLE job = CreateJobObjectW(&ni_win_no_inherit, NULL);
    if (job == NULL)
        return GetLastError();
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    memset(&limits, 0, sizeof limits);
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK;
    if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits) ||
        !AssignProcessToJobObject(job, process))
    {
        DWORD error = GetLastError();
        CloseHandle(job);
        return error;
    }
    return 0;
}

static BOOL CALLBACK start_helper(PINIT_ONCE once, PVOID parameter, PVOID* context)
{
    (void)once; (void)parameter; (void)context;
    HANDLE process;
    g_helper_error = create_helper(&process);
    if (g_helper_error != 0)
        return TRUE;
    if (bind_to_job(process) != 0)
        atexit(end_helper);
    g_helper = process;
    return TRUE;
}

DWORD ni_win_helper(HANDLE* helper)
{
    InitOnceExecuteOnce(&g_helper_once, start_helper, NULL, NULL);
    *helper = g_helper;
    return g_helper != NULL ? 0 : g_helper_error;
}

DWORD ni_win_helper_take(HANDLE helper, HANDLE ours, HANDLE* theirs)
{
    if (!DuplicateHandle(GetCurrentProcess(), ours, helper, theirs, 0, TRUE, DUPLICATE_SAME_ACCESS))
        return GetLastError();
    return 0;
}

/* Windows also takes DUPLICATE_CLOSE_SOURCE with no target process, but wine (8.0) refuses that
   (ERROR_INVALID_HANDLE, nothing closed), so the handle is moved here, non-inheritable, and closed here. */
void ni_win_helper_release(HANDLE helper, HANDLE theirs)
{
    HANDLE ours;
    if (DuplicateHandle(helper, theirs, GetCurrentProcess(), &ours, 0, FALSE, DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
        CloseHandle(ours);
}
