/* ni_list_handles, ni_describe, ni_seal: the process's handles, what they are, and sealing them. */
#include "win.h"

#include <stdio.h>
#include <stdlib.h>

/* Handle values are multiples of 4; a process with more handles than this is not one we serve. */
#define NI_WIN_HANDLE_LIMIT 0x40000

static int32_t kind_of(HANDLE handle)
{
    switch (GetFileType(handle))
    {
        case FILE_TYPE_DISK:
        {
            BY_HANDLE_FILE_INFORMATION info;
            if (GetFileInformationByHandle(handle, &info) && (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
                return NI_KIND_DIRECTORY;
            return NI_KIND_FILE;
        }
        case FILE_TYPE_CHAR:
            return NI_KIND_CHARACTER_DEVICE;
        case FILE_TYPE_PIPE:
        {
            /* Sockets are pipes to GetFileType; SO_TYPE tells them apart. */
            int type;
            int length = sizeof type;
            if (ni_win_sockets_ready() == 0 &&
                getsockopt((SOCKET)handle, SOL_SOCKET, SO_TYPE, (char*)&type, &length) == 0)
                return NI_KIND_SOCKET;
            return NI_KIND_PIPE;
        }
        default:
            return NI_KIND_OTHER;
    }
}

int32_t ni_list_handles(ni_handle_info* buffer, int32_t capacity, int32_t* count)
{
    if (count == NULL || capacity < 0 || (buffer == NULL && capacity > 0))
        return ERROR_INVALID_PARAMETER;
    int32_t found = 0;
    for (uintptr_t value = 4; value < NI_WIN_HANDLE_LIMIT; value += 4)
    {
        DWORD flags;
        if (!GetHandleInformation((HANDLE)value, &flags))
            continue;
        if (found < capacity)
        {
            buffer[found].handle = (ni_handle)value;
            buffer[found].inheritable = (flags & HANDLE_FLAG_INHERIT) ? 1 : 0;
            buffer[found].kind = kind_of((HANDLE)value);
        }
        found++;
    }
    *count = found;
    return 0;
}

static void describe_socket(SOCKET s, char* buffer, size_t size)
{
    struct sockaddr_storage local, peer;
    int local_length = sizeof local, peer_length = sizeof peer;
    char local_text[128] = "?", peer_text[128] = "";
    DWORD n = sizeof local_text;
    memset(&local, 0, sizeof local);
    if (getsockname(s, (struct sockaddr*)&local, &local_length) == 0)
        WSAAddressToStringA((struct sockaddr*)&local, (DWORD)local_length, NULL, local_text, &n);
    n = sizeof peer_text;
    if (getpeername(s, (struct sockaddr*)&peer, &peer_length) == 0)
        WSAAddressToStringA((struct sockaddr*)&peer, (DWORD)peer_length, NULL, peer_text, &n);
    int address_family = local.ss_family;
    if (address_family == 0)
    {
        /* Not bound yet: getsockname fails on Windows, the protocol info still knows the family. */
        WSAPROTOCOL_INFOW protocol;
        int protocol_length = sizeof protocol;
        if (getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOW, (char*)&protocol, &protocol_length) == 0)
            address_family = protocol.iAddressFamily;
    }
    const char* family = address_family == AF_INET ? "inet" : address_family == AF_INET6 ? "inet6"
                       : address_family == AF_UNIX ? "unix" : "socket";
    int type = 0, type_length = sizeof type;
    getsockopt(s, SOL_SOCKET, SO_TYPE, (char*)&type, &type_length);
    const char* kind = type == SOCK_STREAM ? "stream" : type == SOCK_DGRAM ? "dgram" : "other";
    if (peer_text[0] != '\0')
        snprintf(buffer, size, "%s %s %s -> %s", family, kind, local_text, peer_text);
    else
        snprintf(buffer, size, "%s %s %s", family, kind, local_text);
}

int32_t ni_describe(ni_handle handle, char* buffer, int32_t size, int32_t* kind)
{
    if (buffer == NULL || size < 1 || kind == NULL)
        return ERROR_INVALID_PARAMETER;
    DWORD flags;
    if (handle == NI_INVALID_HANDLE || !GetHandleInformation((HANDLE)handle, &flags))
        return ERROR_INVALID_HANDLE;
    *kind = kind_of((HANDLE)handle);
    buffer[0] = '\0';
    if (*kind == NI_KIND_SOCKET)
    {
        describe_socket((SOCKET)handle, buffer, (size_t)size);
    }
    else if (*kind == NI_KIND_FILE || *kind == NI_KIND_DIRECTORY)
    {
        wchar_t path[1024];
        DWORD n = GetFinalPathNameByHandleW((HANDLE)handle, path, 1024, FILE_NAME_NORMALIZED);
        if (n > 0 && n < 1024)
        {
            const wchar_t* shown = wcsncmp(path, L"\\\\?\\", 4) == 0 ? path + 4 : path;
            WideCharToMultiByte(CP_UTF8, 0, shown, -1, buffer, size, NULL, NULL);
            buffer[size - 1] = '\0';
        }
    }
    else if (*kind == NI_KIND_PIPE)
    {
        snprintf(buffer, (size_t)size, "pipe");
    }
    return 0;
}

int32_t ni_seal(const ni_handle* keep, int32_t keep_count, int32_t* changed)
{
    if (changed == NULL || keep_count < 0 || (keep == NULL && keep_count > 0))
        return ERROR_INVALID_PARAMETER;
    int32_t count = 0;
    for (uintptr_t value = 4; value < NI_WIN_HANDLE_LIMIT; value += 4)
    {
        DWORD flags;
        if (!GetHandleInformation((HANDLE)value, &flags) || !(flags & HANDLE_FLAG_INHERIT))
            continue;
        /* The standard handles are always kept, as 0, 1 and 2 are on POSIX. */
        int is_kept = (HANDLE)value == GetStdHandle(STD_INPUT_HANDLE) || (HANDLE)value == GetStdHandle(STD_OUTPUT_HANDLE) ||
                      (HANDLE)value == GetStdHandle(STD_ERROR_HANDLE);
        for (int32_t i = 0; i < keep_count && !is_kept; i++)
            is_kept = keep[i] == (ni_handle)value;
        if (is_kept)
            continue;
        if (!SetHandleInformation((HANDLE)value, HANDLE_FLAG_INHERIT, 0))
            return (int32_t)GetLastError();
        count++;
    }
    *changed = count;
    return 0;
}
