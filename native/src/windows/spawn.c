/*
 * ni_spawn on Win32: CreateProcessW with STARTUPINFOEX, whose handle list holds only the handles the
 * child is to get, inherited from the helper process (helper.c) so that no handle of this process is
 * ever inheritable; a pseudo console (pty.c) goes in the same attribute list. The command line and
 * environment text come from cmdline.c and envblock.c; the jobs a child is put in before it runs from
 * job.c; waiting, resuming, killing and closing are in process.c.
 */
#include "win.h"
#include "spawn_text.h"

#include <stdlib.h>
#include <string.h>

#define NI_SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO | \
                        NI_SPAWN_SUSPENDED | NI_SPAWN_NEW_PROCESS_GROUP | NI_SPAWN_DETACHED |                        \
                        NI_SPAWN_KILL_ON_PARENT_EXIT | NI_SPAWN_PROCESS_TREE | NI_SPAWN_LISTEN_PID)
/* The flags that make the child lead a process group of its own. */
#define NI_SPAWN_GROUP (NI_SPAWN_NEW_PROCESS_GROUP | NI_SPAWN_PROCESS_TREE | NI_SPAWN_DETACHED)

/* Everything one spawn builds, released in one place. */
struct spawn
{
    HANDLE* handles;  /* the distinct handles to pass, mapped and standard ones */
    HANDLE* dups;     /* their duplicates in the helper, in the same order */
    char* by_value;   /* whether handles[i] is passed under its value (not as a standard stream) */
    size_t count, duplicated;
    int std[3];       /* the index in handles of the child's stdin, stdout, stderr, or -1 */
    HANDLE helper;
    struct ni_passed_handle* passed; /* the by-value handles, ours and theirs */
    size_t passed_count;
    struct ni_wbuf line, env, cwd;
    wchar_t* path;
    LPPROC_THREAD_ATTRIBUTE_LIST attributes;
    ni_handle console;        /* a NI_SPAWN_TERMINAL mapping's pseudo console, or NI_INVALID_HANDLE */
    struct ni_win_jobs jobs;  /* jobs.own is ours until it becomes result->job */
};

static DWORD check_flags(int32_t flags)
{
    if ((flags & ~NI_SPAWN_KNOWN) != 0 || ((flags & NI_SPAWN_DETACHED) && (flags & NI_SPAWN_KILL_ON_PARENT_EXIT)))
        return ERROR_INVALID_PARAMETER; /* unknown, or outliving us and dying with us */
    /* LISTEN_PID is for sd_listen_fds(3): Windows hands sockets over with WSADuplicateSocketW. */
    return (flags & NI_SPAWN_LISTEN_PID) ? ERROR_NOT_SUPPORTED : 0;
}

static DWORD allocate(struct spawn* s, size_t mapping_count)
{
    size_t most = mapping_count + 3; /* the mappings and this process's three standard handles */
    s->handles = malloc(sizeof(HANDLE) * most * 2);
    s->by_value = calloc(most, 1);
    s->passed = calloc(most, sizeof *s->passed);
    if (s->handles == NULL || s->by_value == NULL || s->passed == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    s->dups = s->handles + most;
    return 0;
}

/* The index of `h` in the list, added if it is not there yet: a handle mapped twice is passed once. */
static size_t add_handle(struct spawn* s, HANDLE h)
{
    size_t at = 0;
    while (at < s->count && s->handles[at] != h)
        at++;
    if (at == s->count)
        s->handles[s->count++] = h;
    return at;
}

static DWORD add_mappings(struct spawn* s, const ni_fd_mapping* mappings, int32_t mapping_count)
{
    for (int32_t i = 0; i < mapping_count; i++)
    {
        HANDLE h = (HANDLE)mappings[i].source;
        int32_t target = mappings[i].target;
        int standard = target >= 0 && target <= 2;
        if (mappings[i].source == NI_INVALID_HANDLE || h == NULL)
            return ERROR_INVALID_HANDLE;
        if (target == NI_SPAWN_TERMINAL)
        {
            if (s->console != NI_INVALID_HANDLE)
                return ERROR_INVALID_PARAMETER; /* one terminal at most */
            s->console = mappings[i].source;
            continue;
        }
        /* Windows cannot choose the value a handle gets in another process. */
        if (!standard && target != NI_SPAWN_SAME_NUMBER && (ni_handle)target != mappings[i].source)
            return target < 0 ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
        size_t at = add_handle(s, h);
        if (!standard)
            s->by_value[at] = 1;
        else if (s->std[target] != -1)
            return ERROR_INVALID_PARAMETER; /* two handles for one target */
        else
            s->std[target] = (int)at;
    }
    /* The terminal is the child's standard streams: no other handle may be one. And no handle can be passed with
       it: the child would come from the helper, and CreateProcessW takes the console, a handle of ours, from the
       process named as the parent (wine fails with ERROR_INVALID_HANDLE). */
    if (s->console != NI_INVALID_HANDLE && (s->std[0] != -1 || s->std[1] != -1 || s->std[2] != -1))
        return ERROR_INVALID_PARAMETER;
    return s->console != NI_INVALID_HANDLE && s->count > 0 ? ERROR_NOT_SUPPORTED : 0;
}

/* NI_SPAWN_INHERIT_STDIO: this process's standard handles for the targets no mapping names. */
static void add_own_std(struct spawn* s)
{
    static const DWORD ids[3] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE };
    for (int i = 0; i < 3; i++)
    {
        HANDLE h = GetStdHandle(ids[i]);
        DWORD info;
        if (s->std[i] != -1 || h == NULL || h == INVALID_HANDLE_VALUE || !GetHandleInformation(h, &info))
            continue; /* mapped, none, or a console pseudo-handle that cannot be passed */
        s->std[i] = (int)add_handle(s, h);
    }
}

/* Every handle into the helper, inheritable there; release() closes them there again. */
static DWORD pass_to_helper(struct spawn* s)
{
    if (s->count == 0)
        return 0; /* no helper, no inheritance */
    DWORD error = ni_win_helper(&s->helper);
    if (error != 0)
        return error;
    for (size_t i = 0; i < s->count; i++)
    {
        error = ni_win_helper_take(s->helper, s->handles[i], &s->dups[i]);
        if (error != 0)
            return error;
        s->duplicated = i + 1;
        if (s->by_value[i])
        {
            s->passed[s->passed_count].ours = (ni_handle)s->handles[i];
            s->passed[s->passed_count++].theirs = (ni_handle)s->dups[i];
        }
    }
    return 0;
}

/* The command line (passed values rewritten to the child's), environment block, path and directory. */
static DWORD build_text(struct spawn* s, const char* path, const char* const* argv, const char* const* envp,
                        const char* cwd, int32_t flags)
{
    int raw = (flags & NI_SPAWN_RAW_ARGUMENTS) != 0;
    DWORD error = ni_win_command_line(argv, raw, s->passed, s->passed_count, &s->line);
    if (error != 0)
        return error;
    if (envp != NULL && (error = ni_win_environment_block(envp, &s->env)) != 0)
        return error;
    if (path != NULL && (error = ni_win_path(path, &s->path)) != 0)
        return error;
    return cwd != NULL ? ni_wbuf_utf8(&s->cwd, cwd) : 0;
}

/* PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE (Windows 10 1809), which MinGW declares only for NTDDI_WIN10_RS5. */
#ifndef PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE
#  define PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE ProcThreadAttributeValue(22, FALSE, TRUE, FALSE)
#endif

/* Inherit from the helper, and there only the duplicates; and the pseudo console, if any. */
static DWORD build_attributes(struct spawn* s)
{
    DWORD count = (s->count > 0 ? 2 : 0) + (s->console != NI_INVALID_HANDLE ? 1 : 0);
    if (count == 0)
        return 0;
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, count, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = malloc(size);
    if (attributes == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!InitializeProcThreadAttributeList(attributes, count, 0, &size))
    {
        DWORD error = GetLastError();
        free(attributes);
        return error;
    }
    s->attributes = attributes;
    if (s->count > 0 &&
        (!UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_PARENT_PROCESS, &s->helper, sizeof s->helper,
                                    NULL, NULL) ||
         !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, s->dups, s->count * sizeof(HANDLE),
                                    NULL, NULL)))
        return GetLastError();
    /* The value is the console itself (an HPCON), not a pointer to it. */
    if (s->console != NI_INVALID_HANDLE &&
        !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, (void*)s->console, sizeof(void*),
                                   NULL, NULL))
        return GetLastError();
    return 0;
}

/* CreateProcessW's creation flags. Suspended also when the child must be put in jobs before it runs. A detached
   child breaks away from the job this process is in, if any: where that job does not allow it, create_child
   starts it without. */
static DWORD creation_flags(const struct spawn* s, int32_t flags)
{
    DWORD creation = CREATE_UNICODE_ENVIRONMENT | (s->attributes != NULL ? EXTENDED_STARTUPINFO_PRESENT : 0);
    BOOL in_job = FALSE;
    if (flags & NI_SPAWN_NO_WINDOW)
        creation |= CREATE_NO_WINDOW;
    if ((flags & NI_SPAWN_SUSPENDED) || s->jobs.parent_exit != NULL || s->jobs.own != NULL)
        creation |= CREATE_SUSPENDED;
    if (flags & NI_SPAWN_GROUP)
        creation |= CREATE_NEW_PROCESS_GROUP;
    if (flags & NI_SPAWN_DETACHED)
        creation |= DETACHED_PROCESS;
    if ((flags & NI_SPAWN_DETACHED) && IsProcessInJob(GetCurrentProcess(), NULL, &in_job) && in_job)
        creation |= CREATE_BREAKAWAY_FROM_JOB;
    return creation;
}

/* Standard handles always come from STARTUPINFO: those not mapped are NULL, never ours. With a pseudo console,
   all three are NULL, which Windows replaces with the console's. */
static DWORD create_child(struct spawn* s, int32_t flags, int has_env, PROCESS_INFORMATION* pi)
{
    STARTUPINFOEXW si;
    memset(&si, 0, sizeof si);
    si.StartupInfo.cb = s->attributes != NULL ? sizeof si : sizeof si.StartupInfo;
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = s->std[0] != -1 ? s->dups[s->std[0]] : NULL;
    si.StartupInfo.hStdOutput = s->std[1] != -1 ? s->dups[s->std[1]] : NULL;
    si.StartupInfo.hStdError = s->std[2] != -1 ? s->dups[s->std[2]] : NULL;
    si.lpAttributeList = s->attributes;
    DWORD creation = creation_flags(s, flags);
    for (;;)
    {
        if (CreateProcessW(s->path, s->line.data, NULL, NULL, s->count > 0 ? TRUE : FALSE, creation,
                           has_env ? s->env.data : NULL, s->cwd.data, &si.StartupInfo, pi))
            return 0;
        DWORD error = GetLastError();
        if (error != ERROR_ACCESS_DENIED || !(creation & CREATE_BREAKAWAY_FROM_JOB))
            return error;
        creation &= ~(DWORD)CREATE_BREAKAWAY_FROM_JOB; /* our job does not let it go: it stays in it */
    }
}

/* Creates the child, puts it in its jobs and lets it run unless NI_SPAWN_SUSPENDED. A failure once it exists
   ends it: no process is left behind. The pseudo console stays open until the child is attached to it. */
static DWORD start_child(struct spawn* s, int32_t flags, int has_env, PROCESS_INFORMATION* pi)
{
    int terminal = s->console != NI_INVALID_HANDLE;
    DWORD error = terminal ? ni_win_console_use(s->console) : 0;
    if (error != 0)
        return error;
    error = create_child(s, flags, has_env, pi);
    if (terminal)
        ni_win_console_done();
    if (error != 0)
        return error;
    int in_jobs = s->jobs.parent_exit != NULL || s->jobs.own != NULL; /* created suspended for them */
    error = ni_win_jobs_assign(&s->jobs, pi->hProcess);
    if (error == 0 && in_jobs && !(flags & NI_SPAWN_SUSPENDED) && ResumeThread(pi->hThread) == (DWORD)-1)
        error = GetLastError();
    if (error != 0)
    {
        TerminateProcess(pi->hProcess, (UINT)-1);
        WaitForSingleObject(pi->hProcess, INFINITE); /* suspended: it ends at once */
        CloseHandle(pi->hThread);
        CloseHandle(pi->hProcess);
    }
    return error;
}

static void release(struct spawn* s)
{
    /* The child has its copies (or there is no child): the helper keeps none. */
    for (size_t i = 0; i < s->duplicated; i++)
        ni_win_helper_release(s->helper, s->dups[i]);
    if (s->attributes != NULL)
    {
        DeleteProcThreadAttributeList(s->attributes);
        free(s->attributes);
    }
    free(s->handles);
    free(s->by_value);
    free(s->passed);
    ni_wbuf_free(&s->line);
    ni_wbuf_free(&s->env);
    ni_wbuf_free(&s->cwd);
    free(s->path);
    if (s->jobs.own != NULL)
        CloseHandle(s->jobs.own);
}

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (argv == NULL || argv[0] == NULL || result == NULL || mapping_count < 0 || (mappings == NULL && mapping_count > 0))
        return ERROR_INVALID_PARAMETER;
    DWORD error = check_flags(flags);
    if (error != 0)
        return (int32_t)error;

    struct spawn s;
    memset(&s, 0, sizeof s);
    s.std[0] = s.std[1] = s.std[2] = -1;
    s.console = NI_INVALID_HANDLE;
    PROCESS_INFORMATION pi;
    if ((error = allocate(&s, (size_t)mapping_count)) != 0 || (error = add_mappings(&s, mappings, mapping_count)) != 0)
        goto cleanup;
    if (s.console != NI_INVALID_HANDLE && (flags & NI_SPAWN_DETACHED))
    {
        error = ERROR_INVALID_PARAMETER; /* a terminal ties the child to us */
        goto cleanup;
    }
    if ((flags & NI_SPAWN_INHERIT_STDIO) && s.console == NI_INVALID_HANDLE)
        add_own_std(&s);
    if ((error = pass_to_helper(&s)) != 0 || (error = build_text(&s, path, argv, envp, cwd, flags)) != 0 ||
        (error = build_attributes(&s)) != 0 || (error = ni_win_jobs_prepare(flags, &s.jobs)) != 0)
        goto cleanup;
    error = start_child(&s, flags, envp != NULL, &pi);

cleanup:
    if (error == 0)
    {
        result->pid = (int64_t)pi.dwProcessId;
        result->handle = (ni_handle)pi.hProcess;
        result->resume = NI_INVALID_HANDLE;
        result->job = s.jobs.own != NULL ? (ni_handle)s.jobs.own : NI_INVALID_HANDLE;
        s.jobs.own = NULL; /* the caller's now */
        if (flags & NI_SPAWN_SUSPENDED)
            result->resume = (ni_handle)pi.hThread;
        else
            CloseHandle(pi.hThread);
    }
    release(&s);
    return (int32_t)error;
}
