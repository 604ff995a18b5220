/*
 * ni_spawn on Win32: CreateProcessW with STARTUPINFOEX, whose handle list holds only the handles the
 * child is to get, inherited from the helper process (helper.c) so that no handle of this process is
 * ever inheritable. The command line and environment text come from cmdline.c and envblock.c;
 * waiting, killing and closing are in process.c.
 */
#include "win.h"
#include "spawn_text.h"

#include <stdlib.h>
#include <string.h>

#define NI_SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO)
/* The process flags the header names that this side does not honour yet (pending.c): ERROR_NOT_SUPPORTED, as the
   header promises for "a flag this system cannot honour", so that a caller can tell them from a bad argument. */
#define NI_SPAWN_NOT_YET (NI_SPAWN_SUSPENDED | NI_SPAWN_NEW_PROCESS_GROUP | NI_SPAWN_DETACHED | NI_SPAWN_KILL_ON_PARENT_EXIT | \
                          NI_SPAWN_PROCESS_TREE | NI_SPAWN_LISTEN_PID)

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
};

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
    return 0;
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

/* Inherit from the helper, and there only the duplicates. */
static DWORD build_attributes(struct spawn* s)
{
    if (s->count == 0)
        return 0;
    SIZE_T size = 0;
    InitializeProcThreadAttributeList(NULL, 2, 0, &size);
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = malloc(size);
    if (attributes == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    if (!InitializeProcThreadAttributeList(attributes, 2, 0, &size))
    {
        DWORD error = GetLastError();
        free(attributes);
        return error;
    }
    s->attributes = attributes;
    if (!UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_PARENT_PROCESS, &s->helper, sizeof s->helper,
                                   NULL, NULL) ||
        !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, s->dups, s->count * sizeof(HANDLE),
                                   NULL, NULL))
        return GetLastError();
    return 0;
}

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
    DWORD creation = CREATE_UNICODE_ENVIRONMENT | (s->attributes != NULL ? EXTENDED_STARTUPINFO_PRESENT : 0);
    if (flags & NI_SPAWN_NO_WINDOW)
        creation |= CREATE_NO_WINDOW;
    if (!CreateProcessW(s->path, s->line.data, NULL, NULL, s->count > 0 ? TRUE : FALSE, creation,
                        has_env ? s->env.data : NULL, s->cwd.data, &si.StartupInfo, pi))
        return GetLastError();
    return 0;
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
}

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (argv == NULL || argv[0] == NULL || result == NULL || mapping_count < 0 ||
        (mappings == NULL && mapping_count > 0) || (flags & ~(NI_SPAWN_KNOWN | NI_SPAWN_NOT_YET)) != 0)
        return ERROR_INVALID_PARAMETER;
    if (flags & NI_SPAWN_NOT_YET)
        return ERROR_NOT_SUPPORTED;

    struct spawn s;
    memset(&s, 0, sizeof s);
    s.std[0] = s.std[1] = s.std[2] = -1;
    PROCESS_INFORMATION pi;
    DWORD error = allocate(&s, (size_t)mapping_count);
    if (error != 0)
        goto cleanup;
    error = add_mappings(&s, mappings, mapping_count);
    if (error != 0)
        goto cleanup;
    if (flags & NI_SPAWN_INHERIT_STDIO)
        add_own_std(&s);
    error = pass_to_helper(&s);
    if (error != 0)
        goto cleanup;
    error = build_text(&s, path, argv, envp, cwd, flags);
    if (error != 0)
        goto cleanup;
    error = build_attributes(&s);
    if (error != 0)
        goto cleanup;
    error = create_child(&s, flags, envp != NULL, &pi);

cleanup:
    release(&s);
    if (error != 0)
        return (int32_t)error;
    CloseHandle(pi.hThread);
    result->pid = (int64_t)pi.dwProcessId;
    result->handle = (ni_handle)pi.hProcess;
    result->resume = NI_INVALID_HANDLE; /* no NI_SPAWN_SUSPENDED / NI_SPAWN_PROCESS_TREE here yet (pending.c) */
    result->job = NI_INVALID_HANDLE;
    return 0;
}
