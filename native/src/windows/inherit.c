/* ni_pipe, ni_dup, ni_close and the inherit flag itself (HANDLE_FLAG_INHERIT). */
#include "win.h"

/* NI_INVALID_HANDLE is also GetCurrentProcess()'s pseudo-handle, which every handle call would accept. */
#define NI_REJECT_INVALID(handle) \
    do { if ((handle) == NI_INVALID_HANDLE) return ERROR_INVALID_HANDLE; } while (0)

int32_t ni_pipe(ni_handle* read_end, ni_handle* write_end)
{
    if (read_end == NULL || write_end == NULL)
        return ERROR_INVALID_PARAMETER;
    HANDLE r, w;
    if (!CreatePipe(&r, &w, &ni_win_no_inherit, 0))
        return (int32_t)GetLastError();
    *read_end = (ni_handle)r;
    *write_end = (ni_handle)w;
    return 0;
}

int32_t ni_dup(ni_handle handle, ni_handle* result)
{
    if (result == NULL)
        return ERROR_INVALID_PARAMETER;
    NI_REJECT_INVALID(handle);
    HANDLE process = GetCurrentProcess();
    HANDLE duplicate;
    if (!DuplicateHandle(process, (HANDLE)handle, process, &duplicate, 0, FALSE, DUPLICATE_SAME_ACCESS))
        return (int32_t)GetLastError();
    *result = (ni_handle)duplicate;
    return 0;
}

int32_t ni_close(ni_handle handle)
{
    NI_REJECT_INVALID(handle);
    /* A socket must go through closesocket; for anything else it fails with WSAENOTSOCK untouched. */
    if (ni_win_sockets_ready() == 0)
    {
        if (closesocket((SOCKET)handle) == 0)
            return 0;
        int error = WSAGetLastError();
        if (error != WSAENOTSOCK)
            return error;
    }
    return CloseHandle((HANDLE)handle) ? 0 : (int32_t)GetLastError();
}

int32_t ni_get_inheritable(ni_handle handle, int32_t* inheritable)
{
    if (inheritable == NULL)
        return ERROR_INVALID_PARAMETER;
    NI_REJECT_INVALID(handle);
    DWORD flags;
    if (!GetHandleInformation((HANDLE)handle, &flags))
        return (int32_t)GetLastError();
    *inheritable = (flags & HANDLE_FLAG_INHERIT) ? 1 : 0;
    return 0;
}

int32_t ni_set_inheritable(ni_handle handle, int32_t inheritable)
{
    if (inheritable != 0 && inheritable != 1)
        return ERROR_INVALID_PARAMETER;
    NI_REJECT_INVALID(handle);
    if (!SetHandleInformation((HANDLE)handle, HANDLE_FLAG_INHERIT, inheritable ? HANDLE_FLAG_INHERIT : 0))
        return (int32_t)GetLastError();
    return 0;
}
