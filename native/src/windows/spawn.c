/* ni_spawn, ni_wait, ni_kill, ni_process_close on Win32: STARTUPINFOEX with a handle list. */
#include "win.h"

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

int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                 const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result)
{
    if (argv == NULL || argv[0] == NULL || result == NULL || mapping_count < 0 ||
        (mappings == NULL && mapping_count > 0) || (flags & ~NI_SPAWN_KNOWN) != 0)
        return ERROR_INVALID_PARAMETER;

    HANDLE std[3] = { NULL, NULL, NULL };
    HANDLE* list = malloc(sizeof(HANDLE) * ((size_t)mapping_count + 3));
    if (list == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    size_t listed = 0;
    for (int32_t i = 0; i < mapping_count; i++)
    {
        HANDLE h = (HANDLE)mappings[i].source;
        int32_t target = mappings[i].target;
        if (mappings[i].source == NI_INVALID_HANDLE || h == NULL)
        {
            free(list);
            return ERROR_INVALID_HANDLE;
        }
        if (target >= 0 && target <= 2)
        {
            if (std[target] != NULL)
            {
                free(list);
                return ERROR_INVALID_PARAMETER; /* two handles for one target */
            }
            std[target] = h;
        }
        else if (target != NI_SPAWN_SAME_NUMBER && (ni_handle)target != mappings[i].source)
        {
            free(list);
            return target < 0 ? ERROR_INVALID_PARAMETER : ERROR_NOT_SUPPORTED;
        }
        int duplicate = 0;
        for (size_t j = 0; j < listed; j++)
            duplicate |= list[j] == h;
        if (!duplicate)
            list[listed++] = h;
    }
    if (flags & NI_SPAWN_INHERIT_STDIO)
    {
        static const DWORD ids[3] = { STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE };
        for (int i = 0; i < 3; i++)
        {
            if (std[i] != NULL)
                continue;
            HANDLE h = GetStdHandle(ids[i]);
            DWORD info;
            if (h == NULL || h == INVALID_HANDLE_VALUE || !GetHandleInformation(h, &info))
                continue; /* none, or a console pseudo-handle that cannot be listed */
            std[i] = h;
            int duplicate = 0;
            for (size_t j = 0; j < listed; j++)
                duplicate |= list[j] == h;
            if (!duplicate)
                list[listed++] = h;
        }
    }

    DWORD error = 0;
    struct wbuf line = { 0 }, env = { 0 };
    wchar_t *wpath = NULL, *wcwd = NULL;
    LPPROC_THREAD_ATTRIBUTE_LIST attributes = NULL;
    DWORD* restore = calloc(listed + 1, sizeof(DWORD));
    size_t made_inheritable = 0;
    if (restore == NULL)
        error = ERROR_NOT_ENOUGH_MEMORY;

    /* The command line. */
    if (error == 0)
        error = append_argument(&line, argv[0], 1);
    if (error == 0 && (flags & NI_SPAWN_RAW_ARGUMENTS))
    {
        if (argv[1] != NULL && argv[1][0] != '\0')
        {
            wbuf_put(&line, L' ', 1);
            error = wbuf_utf8(&line, argv[1], NULL);
        }
    }
    else
    {
        for (size_t i = 1; error == 0 && argv[i] != NULL; i++)
            error = append_argument(&line, argv[i], 0);
    }
    /* The environment block: NAME=value\0...\0\0. */
    if (error == 0 && envp != NULL)
    {
        for (size_t i = 0; error == 0 && envp[i] != NULL; i++)
        {
            error = wbuf_utf8(&env, envp[i], NULL);
            wbuf_put(&env, L'\0', 1);
        }
        wbuf_put(&env, L'\0', 1);
        wbuf_put(&env, L'\0', 1);
        if (env.failed)
            error = ERROR_NOT_ENOUGH_MEMORY;
    }
    if (error == 0 && path != NULL)
        error = ni_win_path(path, &wpath);
    if (error == 0 && cwd != NULL)
    {
        struct wbuf w = { 0 };
        error = wbuf_utf8(&w, cwd, NULL);
        wcwd = w.data;
    }

    /* The handle list: only these handles are inherited. A listed handle must be inheritable; it is
       made so only for the CreateProcessW call and restored right after. */
    SIZE_T size = 0;
    if (error == 0)
    {
        InitializeProcThreadAttributeList(NULL, 1, 0, &size);
        attributes = malloc(size);
        if (attributes == NULL)
            error = ERROR_NOT_ENOUGH_MEMORY;
        else if (!InitializeProcThreadAttributeList(attributes, 1, 0, &size))
            error = GetLastError(), free(attributes), attributes = NULL;
    }
    if (error == 0 && listed > 0 &&
        !UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, list, listed * sizeof(HANDLE), NULL, NULL))
        error = GetLastError();
    for (size_t i = 0; error == 0 && i < listed; i++)
    {
        if (!GetHandleInformation(list[i], &restore[i]))
            error = GetLastError();
        else if (!(restore[i] & HANDLE_FLAG_INHERIT) && !SetHandleInformation(list[i], HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT))
            error = GetLastError();
        else
            made_inheritable = i + 1;
    }

    PROCESS_INFORMATION pi;
    memset(&pi, 0, sizeof pi);
    if (error == 0)
    {
        STARTUPINFOEXW si;
        memset(&si, 0, sizeof si);
        si.StartupInfo.cb = sizeof si;
        si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
        si.StartupInfo.hStdInput = std[0];
        si.StartupInfo.hStdOutput = std[1];
        si.StartupInfo.hStdError = std[2];
        si.lpAttributeList = attributes;
        DWORD creation = EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT;
        if (flags & NI_SPAWN_NO_WINDOW)
            creation |= CREATE_NO_WINDOW;
        if (!CreateProcessW(wpath, line.data, NULL, NULL, listed > 0 ? TRUE : FALSE, creation,
                            envp != NULL ? env.data : NULL, wcwd, &si.StartupInfo, &pi))
            error = GetLastError();
    }
    for (size_t i = 0; i < made_inheritable; i++)
    {
        if (!(restore[i] & HANDLE_FLAG_INHERIT))
            SetHandleInformation(list[i], HANDLE_FLAG_INHERIT, 0);
    }
    if (attributes != NULL)
    {
        DeleteProcThreadAttributeList(attributes);
        free(attributes);
    }
    free(restore);
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
