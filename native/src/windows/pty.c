/*
 * ni_pty_open, ni_pty_resize, ni_pty_close: pseudo consoles (ConPTY, Windows 10 1809+) whose pipes no child
 * inherits. The console functions are looked up in kernel32 at run time, so that the library still loads where
 * they are missing (then ERROR_NOT_SUPPORTED). A child is put on a console by ni_spawn (a NI_SPAWN_TERMINAL
 * mapping: PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE), which asks this file whether the console is open and keeps it
 * from being closed until the child is created (ni_win_console_use).
 */
#include "win.h"

#include <stdlib.h>

/* COORD counts in SHORT. */
#define NI_PTY_SIZE_MAX 32767

typedef HRESULT(WINAPI* create_console_fn)(COORD size, HANDLE input, HANDLE output, DWORD flags, void** console);
typedef HRESULT(WINAPI* resize_console_fn)(void* console, COORD size);
typedef void(WINAPI* close_console_fn)(void* console);

static INIT_ONCE g_api_once = INIT_ONCE_STATIC_INIT;
static create_console_fn g_create;
static resize_console_fn g_resize;
static close_console_fn g_close;

/* The consoles open now; ni_spawn holds the lock shared while it attaches one, ni_pty_close exclusive. */
static SRWLOCK g_lock = SRWLOCK_INIT;
static void** g_open;
static size_t g_open_count, g_open_capacity;

static BOOL CALLBACK load_api(PINIT_ONCE once, PVOID parameter, PVOID* context)
{
    (void)once; (void)parameter; (void)context;
    HMODULE kernel32 = GetModuleHandleW(L"kernel32.dll");
    if (kernel32 == NULL)
        return TRUE;
    /* FARPROC to each function's own type, through the generic function type (-Wcast-function-type). */
    FARPROC create = GetProcAddress(kernel32, "CreatePseudoConsole");
    FARPROC resize = GetProcAddress(kernel32, "ResizePseudoConsole");
    FARPROC close = GetProcAddress(kernel32, "ClosePseudoConsole");
    if (create != NULL && resize != NULL && close != NULL)
    {
        g_resize = (resize_console_fn)(void (*)(void))resize;
        g_close = (close_console_fn)(void (*)(void))close;
        g_create = (create_console_fn)(void (*)(void))create;
    }
    return TRUE;
}

static int api_ready(void)
{
    InitOnceExecuteOnce(&g_api_once, load_api, NULL, NULL);
    return g_create != NULL;
}

/* The console functions answer with an HRESULT: the Win32 code it carries, or the nearest one. */
static int32_t from_hresult(HRESULT hr)
{
    if (SUCCEEDED(hr))
        return 0;
    if (HRESULT_FACILITY(hr) == FACILITY_WIN32)
        return HRESULT_CODE(hr);
    switch (hr)
    {
        case E_NOTIMPL: return ERROR_NOT_SUPPORTED;
        case E_INVALIDARG: return ERROR_INVALID_PARAMETER;
        case E_OUTOFMEMORY: return ERROR_NOT_ENOUGH_MEMORY;
        case E_HANDLE: return ERROR_INVALID_HANDLE;
        default: return (int32_t)hr; /* FormatMessage (ni_error_message) knows HRESULTs too */
    }
}

static int32_t check_size(int32_t columns, int32_t rows, COORD* size)
{
    if (columns < 1 || rows < 1 || columns > NI_PTY_SIZE_MAX || rows > NI_PTY_SIZE_MAX)
        return ERROR_INVALID_PARAMETER;
    size->X = (SHORT)columns;
    size->Y = (SHORT)rows;
    return 0;
}

/* Under the lock: the index of `console` among the open ones, or g_open_count. */
static size_t find_open(void* console)
{
    size_t at = 0;
    while (at < g_open_count && g_open[at] != console)
        at++;
    return at;
}

static int32_t remember(void* console)
{
    AcquireSRWLockExclusive(&g_lock);
    int32_t error = 0;
    if (g_open_count == g_open_capacity)
    {
        size_t capacity = g_open_capacity != 0 ? g_open_capacity * 2 : 8;
        void** grown = realloc(g_open, capacity * sizeof *grown);
        if (grown == NULL)
            error = ERROR_NOT_ENOUGH_MEMORY;
        else
            g_open = grown, g_open_capacity = capacity;
    }
    if (error == 0)
        g_open[g_open_count++] = console;
    ReleaseSRWLockExclusive(&g_lock);
    return error;
}

DWORD ni_win_console_use(ni_handle console)
{
    AcquireSRWLockShared(&g_lock);
    if (console != NI_INVALID_HANDLE && console != 0 && find_open((void*)console) < g_open_count)
        return 0;
    ReleaseSRWLockShared(&g_lock);
    return ERROR_INVALID_HANDLE;
}

void ni_win_console_done(void)
{
    ReleaseSRWLockShared(&g_lock);
}

int32_t ni_pty_open(int32_t columns, int32_t rows, ni_pty* result)
{
    COORD size;
    if (result == NULL)
        return ERROR_INVALID_PARAMETER;
    int32_t error = check_size(columns, rows, &size);
    if (error != 0)
        return error;
    if (!api_ready())
        return ERROR_NOT_SUPPORTED;
    /* The console reads in_r and writes out_w, duplicates of its own: ours are closed once it has them. */
    HANDLE in_r, in_w, out_r, out_w;
    if (!CreatePipe(&in_r, &in_w, &ni_win_no_inherit, 0))
        return (int32_t)GetLastError();
    if (!CreatePipe(&out_r, &out_w, &ni_win_no_inherit, 0))
    {
        error = (int32_t)GetLastError();
        CloseHandle(in_r), CloseHandle(in_w);
        return error;
    }
    void* console = NULL;
    error = from_hresult(g_create(size, in_r, out_w, 0, &console));
    CloseHandle(in_r), CloseHandle(out_w);
    if (error == 0 && (error = remember(console)) != 0)
        g_close(console);
    if (error != 0)
    {
        CloseHandle(in_w), CloseHandle(out_r);
        return error;
    }
    result->input = (ni_handle)in_w;
    result->output = (ni_handle)out_r;
    result->console = (ni_handle)console;
    return 0;
}

int32_t ni_pty_resize(const ni_pty* pty, int32_t columns, int32_t rows)
{
    COORD size;
    if (pty == NULL)
        return ERROR_INVALID_PARAMETER;
    int32_t error = check_size(columns, rows, &size);
    if (error != 0 || (error = (int32_t)ni_win_console_use(pty->console)) != 0)
        return error;
    error = from_hresult(g_resize((void*)pty->console, size));
    ni_win_console_done();
    return error;
}

/* Closes the console if it is open (it ends the processes still attached to it); 0 or ERROR_INVALID_HANDLE. */
static int32_t close_console(ni_handle console)
{
    AcquireSRWLockExclusive(&g_lock);
    size_t at = find_open((void*)console);
    int known = at < g_open_count;
    if (known)
        g_open[at] = g_open[--g_open_count];
    ReleaseSRWLockExclusive(&g_lock);
    if (!known)
        return ERROR_INVALID_HANDLE;
    g_close((void*)console);
    return 0;
}

int32_t ni_pty_close(ni_pty* pty)
{
    if (pty == NULL)
        return ERROR_INVALID_PARAMETER;
    /* Our pipe ends first: before Windows 11 24H2, ClosePseudoConsole waits while the console has output that
       nobody reads, and with our read end closed its writes fail instead. */
    ni_handle* pipes[] = { &pty->input, &pty->output };
    int32_t error = 0;
    for (size_t i = 0; i < 2; i++)
    {
        ni_handle handle = *pipes[i];
        *pipes[i] = NI_INVALID_HANDLE;
        if (handle != NI_INVALID_HANDLE && !CloseHandle((HANDLE)handle) && error == 0)
            error = (int32_t)GetLastError();
    }
    ni_handle console = pty->console;
    pty->console = NI_INVALID_HANDLE;
    if (console != NI_INVALID_HANDLE)
    {
        int32_t closed = close_console(console);
        if (error == 0)
            error = closed;
    }
    return error;
}
