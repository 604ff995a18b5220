#include "win.h"

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

static int is_separator(wchar_t c)
{
    return c == L'\\' || c == L'/';
}

DWORD ni_win_path(const char* utf8, wchar_t** result)
{
    int length = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, NULL, 0);
    if (length <= 0)
        return GetLastError();
    wchar_t* wide = malloc((size_t)length * sizeof(wchar_t));
    if (wide == NULL)
        return ERROR_NOT_ENOUGH_MEMORY;
    MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, utf8, -1, wide, length);

    /* Short paths and paths already in the \\?\ form go to the API as they are. */
    if (length - 1 < MAX_PATH - 12 || wcsncmp(wide, L"\\\\?\\", 4) == 0)
    {
        *result = wide;
        return 0;
    }

    DWORD full_length = GetFullPathNameW(wide, 0, NULL, NULL);
    if (full_length == 0)
    {
        DWORD error = GetLastError();
        free(wide);
        return error;
    }
    /* room for "\\?\UNC\" in front of the full path */
    wchar_t* full = malloc(((size_t)full_length + 8) * sizeof(wchar_t));
    if (full == NULL)
    {
        free(wide);
        return ERROR_NOT_ENOUGH_MEMORY;
    }
    wchar_t* body = full + 8;
    GetFullPathNameW(wide, full_length, body, NULL);
    free(wide);
    if (is_separator(body[0]) && is_separator(body[1]))
    {
        /* \\server\share\... becomes \\?\UNC\server\share\... */
        body += 2;
        body -= 8;
        wmemcpy(body, L"\\\\?\\UNC\\", 8);
    }
    else
    {
        body -= 4;
        wmemcpy(body, L"\\\\?\\", 4);
    }
    if (body != full)
        memmove(full, body, (wcslen(body) + 1) * sizeof(wchar_t));
    *result = full;
    return 0;
}
