/* The Win32 platform layer: Winsock start-up, the degraded capabilities, paths in the form Win32 takes. */
#include "win.h"
#include "wbuf.h"

#include <stdlib.h>
#include <wchar.h>

SECURITY_ATTRIBUTES ni_win_no_inherit = { sizeof(SECURITY_ATTRIBUTES), NULL, FALSE };

static volatile LONG g_degraded;
static INIT_ONCE g_wsa_once = INIT_ONCE_STATIC_INIT;
static int g_wsa_error;

void ni_win_degrade(uint32_t capability)
{
    InterlockedOr(&g_degraded, (LONG)capability);
}

uint32_t ni_capabilities(void)
{
    uint32_t caps = NI_CAP_OPEN_ATOMIC | NI_CAP_SOCKET_ATOMIC | NI_CAP_ACCEPT_ATOMIC | NI_CAP_PIPE_ATOMIC |
                    NI_CAP_DUP_ATOMIC;
    return caps & ~(uint32_t)InterlockedCompareExchange(&g_degraded, 0, 0);
}

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID parameter, PVOID* context)
{
    (void)once; (void)parameter; (void)context;
    WSADATA data;
    g_wsa_error = WSAStartup(MAKEWORD(2, 2), &data);
    return TRUE;
}

int ni_win_sockets_ready(void)
{
    InitOnceExecuteOnce(&g_wsa_once, start_winsock, NULL, NULL);
    return g_wsa_error;
}

int ni_win_is_separator(wchar_t c)
{
    return c == L'\\' || c == L'/';
}

DWORD ni_win_extended_path(const wchar_t* path, wchar_t** result)
{
    if (wcsncmp(path, L"\\\\?\\", 4) == 0)
    {
        *result = _wcsdup(path);
        return *result != NULL ? 0 : ERROR_NOT_ENOUGH_MEMORY;
    }
    for (;;)
    {
        DWORD needed = GetFullPathNameW(path, 0, NULL, NULL);
        if (needed == 0)
            return GetLastError();
        /* room for "\\?\UNC\" in front of the full path */
        wchar_t* full = malloc(((size_t)needed + 8) * sizeof(wchar_t));
        if (full == NULL)
            return ERROR_NOT_ENOUGH_MEMORY;
        wchar_t* body = full + 8;
        DWORD n = GetFullPathNameW(path, needed, body, NULL);
        if (n == 0 || n >= needed)
        {
            DWORD error = n == 0 ? GetLastError() : 0;
            free(full);
            if (error != 0)
                return error;
            continue; /* the current directory changed in between: it needs more room now */
        }
        if (ni_win_is_separator(body[0]) && ni_win_is_separator(body[1]))
        {
            body -= 6; /* \\server\share\... becomes \\?\UNC\server\share\... */
            wmemcpy(body, L"\\\\?\\UNC\\", 8);
        }
        else
        {
            body -= 4;
            wmemcpy(body, L"\\\\?\\", 4);
        }
        memmove(full, body, (wcslen(body) + 1) * sizeof(wchar_t));
        *result = full;
        return 0;
    }
}

DWORD ni_win_path(const char* utf8, wchar_t** result)
{
    struct ni_wbuf wide = { 0 };
    DWORD error = ni_wbuf_utf8(&wide, utf8);
    if (error != 0)
        return error;
    /* Short paths and paths already in the \\?\ form go to the API as they are. */
    if (wide.length < MAX_PATH - 12 || wcsncmp(wide.data, L"\\\\?\\", 4) == 0)
    {
        *result = wide.data;
        return 0;
    }
    error = ni_win_extended_path(wide.data, result);
    ni_wbuf_free(&wide);
    return error;
}
