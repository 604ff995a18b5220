/*
 * Job objects for ni_spawn's children, and what acts on a child's job: ni_kill_tree and ni_signal_group.
 *
 * NI_SPAWN_KILL_ON_PARENT_EXIT: one job with KILL_ON_JOB_CLOSE, made on first use, whose only handle this
 * process keeps until it ends, however it ends (the system closes the handle, the job kills what is in it).
 * It is not the helper process's job (helper.c): that one lets our children go (SILENT_BREAKAWAY_OK).
 * NI_SPAWN_PROCESS_TREE and NI_SPAWN_NEW_PROCESS_GROUP: a job of the child's own (result->job) without
 * limits, so that closing it kills nothing and no descendant can break away from it. A child in both is put
 * in the lasting job first: its own job, empty, then nests inside (Windows 8+ nests jobs). The child is created
 * suspended and runs only once it is in them, so every process it starts is in them from its creation.
 * docs/architecture.md, "Spawning on Windows", has the reasons.
 */
#include "win.h"

#include <string.h>

/* What ni_kill and ni_kill_tree end a process with: TerminateProcess's exit code (as ni_kill). */
#define NI_TERMINATED_CODE ((UINT)-1)

static INIT_ONCE g_parent_exit_once = INIT_ONCE_STATIC_INIT;
static HANDLE g_parent_exit_job;
static DWORD g_parent_exit_error;

static DWORD create_job(DWORD limits, HANDLE* job)
{
    HANDLE created = CreateJobObjectW(&ni_win_no_inherit, NULL);
    if (created == NULL)
        return GetLastError();
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION info;
    memset(&info, 0, sizeof info);
    info.BasicLimitInformation.LimitFlags = limits;
    if (limits != 0 && !SetInformationJobObject(created, JobObjectExtendedLimitInformation, &info, sizeof info))
    {
        DWORD error = GetLastError();
        CloseHandle(created);
        return error;
    }
    *job = created;
    return 0;
}

/* BREAKAWAY_OK: a descendant that asks to leave (CREATE_BREAKAWAY_FROM_JOB, as NI_SPAWN_DETACHED does) may;
   the others end with us. */
static BOOL CALLBACK create_parent_exit_job(PINIT_ONCE once, PVOID parameter, PVOID* context)
{
    (void)once; (void)parameter; (void)context;
    g_parent_exit_error =
        create_job(JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_BREAKAWAY_OK, &g_parent_exit_job);
    return TRUE;
}

DWORD ni_win_jobs_prepare(int32_t flags, struct ni_win_jobs* jobs)
{
    jobs->parent_exit = NULL;
    jobs->own = NULL;
    if (flags & NI_SPAWN_KILL_ON_PARENT_EXIT)
    {
        InitOnceExecuteOnce(&g_parent_exit_once, create_parent_exit_job, NULL, NULL);
        if (g_parent_exit_job == NULL)
            return g_parent_exit_error;
        jobs->parent_exit = g_parent_exit_job;
    }
    if (flags & (NI_SPAWN_PROCESS_TREE | NI_SPAWN_NEW_PROCESS_GROUP))
        return create_job(0, &jobs->own);
    return 0;
}

DWORD ni_win_jobs_assign(const struct ni_win_jobs* jobs, HANDLE process)
{
    if (jobs->parent_exit != NULL && !AssignProcessToJobObject(jobs->parent_exit, process))
        return GetLastError();
    if (jobs->own != NULL && !AssignProcessToJobObject(jobs->own, process))
        return GetLastError();
    return 0;
}

/* 0 while a process of the job runs (one that has ended counts no more, handles open or not);
   ERROR_NOTHING_TO_TERMINATE once none does; or the Win32 error of the query. */
static int32_t job_running(HANDLE job)
{
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION info;
    if (!QueryInformationJobObject(job, JobObjectBasicAccountingInformation, &info, sizeof info, NULL))
        return (int32_t)GetLastError();
    return info.ActiveProcesses > 0 ? 0 : ERROR_NOTHING_TO_TERMINATE;
}

/* Terminates every process of the job, with ni_kill's exit code. */
static int32_t end_job(HANDLE job)
{
    int32_t error = job_running(job);
    if (error != 0)
        return error;
    return TerminateJobObject(job, NI_TERMINATED_CODE) ? 0 : (int32_t)GetLastError();
}

static int usable(const ni_process* process)
{
    return process != NULL && process->pid > 0 && process->handle != NI_INVALID_HANDLE;
}

int32_t ni_kill_tree(const ni_process* process, int32_t signal)
{
    if (!usable(process) || signal <= 0)
        return ERROR_INVALID_PARAMETER;
    if (process->job != NI_INVALID_HANDLE)
        return end_job((HANDLE)process->job);
    /* No job: the child first (it starts no more), then its descendants by parent id (descendants.c). */
    int32_t error = ni_kill(process, signal);
    int reached;
    int32_t walk = ni_win_kill_descendants(process, &reached);
    return walk != 0 ? walk : reached ? 0 : error;
}

/*
 * A child with a job of its own leads a process group (NI_SPAWN_NEW_PROCESS_GROUP or NI_SPAWN_PROCESS_TREE gave
 * it CREATE_NEW_PROCESS_GROUP), and only then is the console event sent: to a process that leads no group the
 * console would send it to every process on it, this one included. The child's pid cannot name another process
 * meanwhile: our handle on it keeps the id from being reused.
 */
int32_t ni_signal_group(const ni_process* process, int32_t signal)
{
    if (!usable(process) || signal < 0)
        return ERROR_INVALID_PARAMETER;
    HANDLE job = (HANDLE)process->job;
    if (process->job == NI_INVALID_HANDLE)
        return ni_kill(process, signal);
    if (signal == NI_WIN_SIGKILL)
        return end_job(job);
    int32_t error = job_running(job);
    if (error != 0 || signal == 0)
        return error;
    /* CTRL_C_EVENT cannot be aimed at a group: CTRL_BREAK_EVENT stands for every other signal. */
    return GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, (DWORD)process->pid) ? 0 : (int32_t)GetLastError();
}
