/* ni_spawn, ni_wait, ni_kill, ni_process_close on Win32: STARTUPINFOEX with a handle list, inherited
   from a helper process so that no handle of this process is ever inheritable. */
#include "win.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NI_SPAWN_KNOWN (NI_SPAWN_DEFAULT_SIGPIPE | NI_SPAWN_RAW_ARGUMENTS | NI_SPAWN_NO_WINDOW | NI_SPAWN_INHERIT_STDIO)

/* A growing UTF-16 buffer. */
struct wbuf
{
    wchar_t* data;
    size_t length, capacity;
    int failed;
};

static void wbuf_put(struct wbuf* b, wchar_t c, size_t n)
{
    if (b->failed)
        return;
    if (b->length + n + 1 > b->capacity)
    {
        size_t capacity = (b->capacity + n + 1) * 2;
        wchar_t* data = realloc(b->data, capacity * sizeof(wchar_t));
        if (data == NULL)
        {
            b->failed = 1;
            return;
        }
        b->data = data, b->capacity = capacity;
    }
    for (size_t i = 0; i < n; i++)
        b->data[b->length++] = c;
    b->data[b->length] = L'\0';
}

/* UTF-8 -> UTF-16 appended to b; 0 or a Win32 error. */
static DWORD wbuf_utf8(struct wbuf* b, const char* utf8, wchar_t** start)
{
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (n <= 0)
        return GetLastError();
    size_t at = b->length;
    wbuf_put(b, L'\0', (size_t)n);
    if (b->failed)
        return ERROR_NOT_ENOUGH_MEMORY;
    MultiByteToWideChar(CP_UTF8, 0, utf8, -1, b->data + at, n);
    b->length = at + (size_t)n - 1; /* without the terminator */
    if (start != NULL)
        *start = b->data + at;
    return 0;
}

/* Appends one argument quoted so that CommandLineToArgvW (and the MSVC runtime) give it back exactly. */
static DWORD append_argument(struct wbuf* line, const char* utf8, int first)
{
    struct wbuf arg = { 0 };
    DWORD error = wbuf_utf8(&arg, utf8, NULL);
    if (error != 0)
    {
        free(arg.data);
        return error;
    }
    const wchar_t* s = arg.data != NULL ? arg.data : L"";
    if (!first)
        wbuf_put(line, L' ', 1);
    int needs_quotes = s[0] == L'\0' || wcspbrk(s, L" \t\n\v\"") != NULL;
    if (first)
    {
        /* argv[0] ends at the next quote (or blank outside quotes); backslashes are literal. */
        if (needs_quotes)
            wbuf_put(line, L'"', 1);
        for (const wchar_t* p = s; *p != L'\0'; p++)
            wbuf_put(line, *p, 1);
        if (needs_quotes)
            wbuf_put(line, L'"', 1);
    }
    else if (!needs_quotes)
    {
        for (const wchar_t* p = s; *p != L'\0'; p++)
            wbuf_put(line, *p, 1);
    }
    else
    {
        wbuf_put(line, L'"', 1);
        for (const wchar_t* p = s;; p++)
        {
            size_t backslashes = 0;
            while (*p == L'\\')
                p++, backslashes++;
            if (*p == L'\0')
            {
                wbuf_put(line, L'\\', backslashes * 2); /* before the closing quote */
                break;
            }
            if (*p == L'"')
            {
                wbuf_put(line, L'\\', backslashes * 2 + 1);
                wbuf_put(line, L'"', 1);
            }
            else
            {
                wbuf_put(line, L'\\', backslashes);
                wbuf_put(line, *p, 1);
            }
        }
        wbuf_put(line, L'"', 1);
    }
    free(arg.data);
    return line->failed ? ERROR_NOT_ENOUGH_MEMORY : 0;
}

/*
 * The helper process. A handle must be inheritable to be named in PROC_THREAD_ATTRIBUTE_HANDLE_LIST,
 * and while one of ours is, any other thread's CreateProcess(bInheritHandles=TRUE) without a list
 * (Process.Start does exactly that) hands it to its own child. So ours never are: each handle the
 * child is to get is duplicated, inheritable, into this helper, and the child is created with
 * PROC_THREAD_ATTRIBUTE_PARENT_PROCESS = the helper, inheriting those duplicates from it (R. Chen,
 * "Additional notes on controlling which handles are inherited by CreateProcess").
 *
 * The helper only has to exist: it is a system program (cmd.exe, there on every Windows and on wine)
 * created suspended, so it never runs a line of code, and with bInheritHandles=FALSE, so it holds
 * nothing but the duplicates of the spawns under way. Nothing is written to disk. It cannot wait for
 * us to exit (it never runs), so a job object does it: KILL_ON_JOB_CLOSE ends the helper when the
 * job's last handle closes, which is when this process ends, however it ends. SILENT_BREAKAWAY_OK
 * keeps the helper's children (ours) out of that job, so they outlive us as Process.Start's do; a
 * job this process is in still holds them, as it holds Process.Start's. Where the job cannot be set
 * up (a job of ours with UI limits cannot nest), the helper is ended at exit instead.
 */
static INIT_ONCE g_helper_once = INIT_ONCE_STATIC_INIT;
static HANDLE g_helper;
static DWORD g_helper_error;

static void end_helper(void)
{
    TerminateProcess(g_helper, 0);
}

static BOOL CALLBACK start_helper(PINIT_ONCE once, PVOID parameter, PVOID* context)
{
    (void)once; (void)parameter; (void)context;
    wchar_t exe[MAX_PATH + 16];
    UINT n = GetSystemDirectoryW(exe, MAX_PATH);
    if (n == 0 || n >= MAX_PATH)
    {
        g_helper_error = n == 0 ? GetLastError() : ERROR_BUFFER_OVERFLOW;
        return TRUE;
    }
    wcscpy(exe + n, L"\\cmd.exe");
    wchar_t line[] = L"cmd.exe";
    STARTUPINFOW si;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    PROCESS_INFORMATION pi;
    if (!CreateProcessW(exe, line, NULL, NULL, FALSE, CREATE_SUSPENDED | CREATE_NO_WINDOW, NULL, NULL, &si, &pi))
    {
        g_helper_error = GetLastError();
        return TRUE;
    }
    CloseHandle(pi.hThread);
    HANDLE job = CreateJobObjectW(&ni_win_no_inherit, NULL);
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    memset(&limits, 0, sizeof limits);
    limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_SILENT_BREAKAWAY_OK;
    if (job == NULL || !SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits) ||
        !AssignProcessToJobObject(job, pi.hProcess))
    {
        if (job != NULL)
            CloseHandle(job);
        atexit(end_helper);
    }
    /* else the job handle stays open for the life of the process: closing it is what ends the helper. */
    g_helper = pi.hProcess;
    return TRUE;
}

/* The helper's process handle (never inheritable), started on first use; 0 or a Win32 error. */
static DWORD get_helper(HANDLE* helper)
{
    InitOnceExecuteOnce(&g_helper_once, start_helper, NULL, NULL);
    *helper = g_helper;
    return g_helper != NULL ? 0 : g_helper_error;
}

/* Closes a handle of the helper's. Windows also takes DUPLICATE_CLOSE_SOURCE with no target process,
   but wine (8.0) refuses that (ERROR_INVALID_HANDLE, nothing closed), so the handle is moved here,
   non-inheritable, and closed here. */
static void close_in_helper(HANDLE helper, HANDLE theirs)
{
    HANDLE ours;
    if (DuplicateHandle(helper, theirs, GetCurrentProcess(), &ours, 0, FALSE, DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS))
        CloseHandle(ours);
}

/* A handle passed under its value: what it is here, what it is in the child (the helper's duplicate). */
struct passed
{
    ni_handle ours, theirs;
};

/*
 * Windows cannot choose the value a handle gets in another process, and the child inherits the
 * helper's values, not ours. Programs are told their handles on the command line (as
 * AnonymousPipeServerStream.GetClientHandleAsString gives them), so an argument that is exactly a
 * passed handle's value, in decimal or 0x hex, is rewritten to the child's value in the same form.
 * Returns the rewritten text in `out`, or NULL when `text` (n bytes) names no passed handle.
 */
static const char* rewrite_value(const char* text, size_t n, const struct passed* passed, size_t count, char out[32])
{
    int hex = n > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
    size_t at = hex ? 2 : 0;
    if (n == at || n - at > (hex ? 16u : 19u) || (!hex && text[0] == '0'))
        return NULL;
    unsigned long long value = 0;
    int upper = 0;
    for (size_t i = at; i < n; i++)
    {
        char c = text[i];
        int digit = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (digit < 0)
            return NULL;
        upper |= c >= 'A' && c <= 'F';
        value = value * (hex ? 16 : 10) + (unsigned)digit;
    }
    for (size_t i = 0; i < count; i++)
    {
        if ((unsigned long long)passed[i].ours != value)
            continue;
        unsigned long long theirs = (unsigned long long)passed[i].theirs;
        if (!hex)
            snprintf(out, 32, "%llu", theirs);
        else
            snprintf(out, 32, upper ? "0%c%llX" : "0%c%llx", text[1], theirs);
        return out;
    }
    return NULL;
}

/* ProcessStartInfo.Arguments-style raw text: each run of characters between blanks and quotes is
   rewritten as a whole argument would be. A new string, or NULL when out of memory. */
static char* rewrite_raw(const char* raw, const struct passed* passed, size_t count)
{
    size_t length = strlen(raw);
    char* result = malloc((length + 1) * 21); /* a rewritten run of 1 or more characters has at most 20 */
    if (result == NULL)
        return NULL;
    size_t used = 0;
    for (size_t i = 0; i < length;)
    {
        size_t end = i;
        while (end < length && raw[end] != ' ' && raw[end] != '\t' && raw[end] != '"')
            end++;
        char value[32];
        const char* replacement = end > i ? rewrite_value(raw + i, end - i, passed, count, value) : NULL;
        if (replacement != NULL)
        {
            size_t r = strlen(replacement);
            memcpy(result + used, replacement, r);
            used += r;
        }
        else
        {
            memcpy(result + used, raw + i, end - i);
            used += end - i;
        }
        if (end < length)
            result[used++] = raw[end++];
        i = end;
    }
    result[used] = '\0';
    return result;
}

/* The order CreateProcessW requires of an environment block: by name, case-insensitively, as
   uppercase code units (CompareStringOrdinal ignoring case). A name may start with '=' ("=C:"). */
static size_t env_name_length(const wchar_t* entry)
{
    const wchar_t* equals = entry[0] != L'\0' ? wcschr(entry + 1, L'=') : NULL;
    return equals != NULL ? (size_t)(equals - entry) : wcslen(entry);
}

static int compare_env(const void* a, const void* b)
{
    const wchar_t* x = *(const wchar_t* const*)a;
    const wchar_t* y = *(const wchar_t* const*)b;
    int order = CompareStringOrdinal(x, (int)env_name_length(x), y, (int)env_name_length(y), TRUE);
    return order == CSTR_LESS_THAN ? -1 : order == CSTR_GREATER_THAN ? 1 : 0;
}

/* envp as a sorted Unicode environment block; the caller's array is left as it is. */
static DWORD environment_block(const char* const* envp, struct wbuf* block)
{
    size_t count = 0;
    while (envp[count] != NULL)
        count++;
    wchar_t** entries = calloc(count + 1, sizeof *entries);
    size_t* offsets = calloc(count + 1, sizeof *offsets);
    struct wbuf all = { 0 };
    DWORD error = entries == NULL || offsets == NULL ? ERROR_NOT_ENOUGH_MEMORY : 0;
    for (size_t i = 0; error == 0 && i < count; i++)
    {
        offsets[i] = all.length;
        error = wbuf_utf8(&all, envp[i], NULL);
        wbuf_put(&all, L'\0', 1);
        if (all.failed)
            error = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (error == 0)
    {
        for (size_t i = 0; i < count; i++)
            entries[i] = all.data + offsets[i]; /* only now: the buffer no longer moves */
        qsort(entries, count, sizeof *entries, compare_env);
        for (size_t i = 0; i < count; i++)
        {
            for (const wchar_t* p = entries[i]; *p != L'\0'; p++)
                wbuf_put(block, *p, 1);
            wbuf_put(block, L'\0', 1);
        }
        wbuf_put(block, L'\0', 1); /* the block's end; an empty block is two */
        if (count == 0)
            wbuf_put(block, L'\0', 1);
        if (block->failed)
            error = ERROR_NOT_ENOUGH_MEMORY;
    }
    free(entries);
    free(offsets);
    free(all.data);
    return error;
}

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (argv == NULL || argv[0] == NULL || result == NULL || mapping_count < 0 ||
        (mappings == NULL && mapping_count > 0) || (flags & ~NI_SPAWN_KNOWN) != 0)
        return ERROR_INVALID_PARAMETER;

    /* The distinct handles to pass (list), which of them are the standard ones (std, an index into
       list), and which are passed under their value (by_value). */
    int std[3] = { -1, -1, -1 };
    HANDLE* list = malloc(sizeof(HANDLE) * ((size_t)mapping_count + 3) * 2);
    char* by_value = calloc((size_t)mapping_count + 3, 1);
    if (list == NULL || by_value == NULL)
    {
        free(list);
        free(by_value);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    HANDLE* dups = list + mapping_count + 3; /* the helper's duplicates, in list's order */
    size_t listed = 0;
    DWORD error = 0;
    for (int32_t i = 0; error == 0 && i < mapping_count; i++)
    {
        HANDLE h = (HANDLE)mappings[i].source;
        int32_t target = mappings[i].target;
        if (mappings[i].source == NI_INVALID_HANDLE || h == NULL)
        {
            error = ERROR_INVALID_HANDLE;
            break;
        }
        if (!(target >= 0 && target <= 2) && target != NI_SPAWN_SAME_NUMBER && (ni_handle)target != mappings[i].source)
        {
            error = target < 0 ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
            break;
        }
        size_t at = 0;
        while (at < listed && list[at] != h)
            at++;
        if (at == listed)
            list[listed++] = h;
        if (target >= 0 && target <= 2)
        {
            if (std[target] != -1)
                error = ERROR_INVALID_PARAMETER; /* two handles for one target */
            std[target] = (int)at;
        }
        else
        {
            by_value[at] = 1;
        }
    }
    if (error == 0 && (flags & NI_SPAWN_INHERIT_STDIO))
    {
        static const DWORD ids[3] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE };
        for (int i = 0; i < 3; i++)
        {
            if (std[i] != -1)
                continue;
            HANDLE h = GetStdHandle(ids[i]);
            DWORD info;
            if (h == NULL || h == INVALID_HANDLE_VALUE || !GetHandleInformation(h, &info))
                continue; /* none, or a console pseudo-handle that cannot be passed */
            size_t at = 0;
            while (at < listed && list[at] != h)
                at++;
            if (at == listed)
                list[listed++] = h;
            std[i] = (int)at;
        }
    }

    /* Into the helper, inheritable there; every path below closes them there again. */
    HANDLE helper = NULL;
    size_t duplicated = 0;
    if (error == 0 && listed > 0)
        error = get_helper(&helper);
    for (size_t i = 0; error == 0 && i < listed; i++)
    {
        if (!DuplicateHandle(GetCurrentProcess(), list[i], helper, &dups[i], 0, TRUE, DUPLICATE_SAME_ACCESS))
            error = GetLastError();
        else
            duplicated = i + 1;
    }
    struct passed* passed = calloc(listed + 1, sizeof *passed);
    size_t passed_count = 0;
    if (error == 0 && passed == NULL)
        error = ERROR_NOT_ENOUGH_MEMORY;
    for (size_t i = 0; error == 0 && i < listed; i++)
    {
        if (by_value[i])
        {
            passed[passed_count].ours = (ni_handle)list[i];
            passed[passed_count++].theirs = (ni_handle)dups[i];
        }
    }

    struct wbuf line = { 0 }, env = { 0 };
    wchar_t *wpath = NULL, *wcwd = NULL;
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = NULL;

    /* The command line, the values of handles passed under their value rewritten to the child's. */
    if (error == 0)
        error = append_argument(&line, argv[0], 1);
    if (error == 0 && (flags & NI_SPAWN_RAW_ARGUMENTS))
    {
        if (argv[1] != NULL && argv[1][0] != '\0')
        {
            char* raw = rewrite_raw(argv[1], passed, passed_count);
            wbuf_put(&line, L' ', 1);
            error = raw == NULL ? ERROR_NOT_ENOUGH_MEMORY : wbuf_utf8(&line, raw, NULL);
            free(raw);
        }
    }
    else
    {
        for (size_t i = 1; error == 0 && argv[i] != NULL; i++)
        {
            char value[32];
            const char* replacement = rewrite_value(argv[i], strlen(argv[i]), passed, passed_count, value);
            error = append_argument(&line, replacement != NULL ? replacement : argv[i], 0);
        }
    }
    if (error == 0 && envp != NULL)
        error = environment_block(envp, &env);
    if (error == 0 && path != NULL)
        error = ni_win_path(path, &wpath);
    if (error == 0 && cwd != NULL)
    {
        struct wbuf w = { 0 };
        error = wbuf_utf8(&w, cwd, NULL);
        wcwd = w.data;
    }

    /* Inherit from the helper, and there only the duplicates. */
    SIZE_T size = 0;
    if (error == 0 && listed > 0)
    {
        InitializeProcThreadAttributeList(NULL, 2, 0, &size);
        attributes = malloc(size);
        if (attributes == NULL)
            error = ERROR_NOT_ENOUGH_MEMORY;
        else if (!InitializeProcThreadAttributeList(attributes, 2, 0, &size))
            error = GetLastError(), free(attributes), attributes = NULL;
        if (error == 0 &&
            (!UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_PARENT_PROCESS, &helper, sizeof helper, NULL, NULL) ||
             !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, dups, listed * sizeof(HANDLE), NULL, NULL)))
            error = GetLastError();
    }

    PROCESS_INFORMATION pi;
    memset(&pi, 0, sizeof pi);
    if (error == 0)
    {
        STARTUPINFOEXW si;
        memset(&si, 0, sizeof si);
        si.StartupInfo.cb = attributes != NULL ? sizeof si : sizeof si.StartupInfo;
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = std[0] != -1 ? dups[std[0]] : NULL;
        si.StartupInfo.hStdOutput = std[1] != -1 ? dups[std[1]] : NULL;
        si.StartupInfo.hStdError = std[2] != -1 ? dups[std[2]] : NULL;
        si.lpAttributeList = attributes;
        DWORD creation = CREATE_UNICODE_ENVIRONMENT | (attributes != NULL ? EXTENDED_STARTUPINFO_PRESENT : 0);
        if (flags & NI_SPAWN_NO_WINDOW)
            creation |= CREATE_NO_WINDOW;
        if (!CreateProcessW(wpath, line.data, NULL, NULL, listed > 0 ? TRUE : FALSE, creation,
                            envp != NULL ? env.data : NULL, wcwd, &si.StartupInfo, &pi))
            error = GetLastError();
    }
    /* The child has its copies (or there is no child): the helper keeps none. */
    for (size_t i = 0; i < duplicated; i++)
        close_in_helper(helper, dups[i]);
    if (attributes != NULL)
    {
        DeleteProcThreadAttributeList(attributes);
        free(attributes);
    }
    free(passed);
    free(by_value);
    free(list);
    free(line.data);
    free(env.data);
    free(wpath);
    free(wcwd);
    if (error != 0)
        return (int32_t)error;
    CloseHandle(pi.hThread);
    result->pid = (int64_t)pi.dwProcessId;
    result->handle = (ni_handle)pi.hProcess;
    return 0;
}

int32_t ni_wait(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code)
{
    if (process == NULL || exited == NULL || exit_code == NULL || process->handle == NI_INVALID_HANDLE || timeout_ms < -1)
        return ERROR_INVALID_PARAMETER;
    DWORD rc = WaitForSingleObject((HANDLE)process->handle, timeout_ms == -1 ? INFINITE : (DWORD)timeout_ms);
    if (rc == WAIT_TIMEOUT)
    {
        *exited = 0;
        return 0;
    }
    if (rc != WAIT_OBJECT_0)
        return (int32_t)GetLastError();
    DWORD code;
    if (!GetExitCodeProcess((HANDLE)process->handle, &code))
        return (int32_t)GetLastError();
    *exited = 1;
    *exit_code = (int32_t)code;
    return 0;
}

int32_t ni_wait_for_exit(const ni_process* process, int32_t timeout_ms, int32_t* exited)
{
    if (process == NULL || exited == NULL || process->handle == NI_INVALID_HANDLE || timeout_ms < -1)
        return ERROR_INVALID_PARAMETER;
    DWORD rc = WaitForSingleObject((HANDLE)process->handle, timeout_ms == -1 ? INFINITE : (DWORD)timeout_ms);
    if (rc != WAIT_OBJECT_0 && rc != WAIT_TIMEOUT)
        return (int32_t)GetLastError();
    *exited = rc == WAIT_OBJECT_0;
    return 0;
}

int32_t ni_kill(const ni_process* process, int32_t signal)
{
    if (process == NULL || process->handle == NI_INVALID_HANDLE || signal < 0)
        return ERROR_INVALID_PARAMETER;
    if (TerminateProcess((HANDLE)process->handle, (UINT)-1))
        return 0;
    DWORD error = GetLastError();
    DWORD code;
    /* Already gone: as on POSIX after the exit, there is nothing to kill. */
    if (error == ERROR_ACCESS_DENIED && GetExitCodeProcess((HANDLE)process->handle, &code) && code != STILL_ACTIVE)
        return ERROR_INVALID_HANDLE;
    return (int32_t)error;
}

int32_t ni_process_close(ni_process* process)
{
    if (process == NULL)
        return ERROR_INVALID_PARAMETER;
    ni_handle handle = process->handle;
    process->handle = NI_INVALID_HANDLE;
    if (handle != NI_INVALID_HANDLE && !CloseHandle((HANDLE)handle))
        return (int32_t)GetLastError();
    return 0;
}
