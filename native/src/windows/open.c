/* ni_open, ni_preallocate: CreateFileW with bInheritHandle=FALSE. */
#include "win.h"

#include <stdlib.h>

static DWORD share_mode(int32_t flags)
{
    if (!(flags & (NI_O_SHARE_READ | NI_O_SHARE_WRITE | NI_O_SHARE_DELETE | NI_O_SHLOCK | NI_O_EXLOCK)))
        return FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE; /* no locking, as on POSIX */
    DWORD share = 0;
    if ((flags & NI_O_SHARE_READ) || ((flags & NI_O_SHLOCK) && !(flags & (NI_O_SHARE_WRITE | NI_O_SHARE_DELETE))))
        share |= FILE_SHARE_READ;
    if (flags & NI_O_SHARE_WRITE) share |= FILE_SHARE_WRITE;
    if (flags & NI_O_SHARE_DELETE) share |= FILE_SHARE_DELETE;
    return share;
}

static DWORD disposition(int32_t flags)
{
    if ((flags & NI_O_CREAT) && (flags & NI_O_EXCL)) return CREATE_NEW;
    if ((flags & NI_O_CREAT) && (flags & NI_O_TRUNC)) return CREATE_ALWAYS;
    if (flags & NI_O_CREAT) return OPEN_ALWAYS;
    if (flags & NI_O_TRUNC) return TRUNCATE_EXISTING;
    return OPEN_EXISTING;
}

static DWORD desired_access(int32_t flags)
{
    DWORD access;
    switch (flags & NI_O_ACCMODE)
    {
        case NI_O_WRONLY: access = GENERIC_WRITE; break;
        case NI_O_RDWR: access = GENERIC_READ | GENERIC_WRITE; break;
        default: access = GENERIC_READ; break;
    }
    if ((flags & NI_O_APPEND) && (flags & NI_O_ACCMODE) != NI_O_RDONLY)
    {
        /* Without FILE_WRITE_DATA every write goes to the end of the file. */
        access &= ~GENERIC_WRITE;
        access |= FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA | READ_CONTROL | SYNCHRONIZE;
    }
    return access;
}

int32_t ni_open(const char* path, int32_t flags, int32_t mode, ni_handle* result)
{
    if (path == NULL || result == NULL || (mode & ~07777) != 0)
        return ERROR_INVALID_PARAMETER;
    int32_t error = ni_check_open_flags(flags);
    if (error != 0)
        return error;

    wchar_t* wide;
    DWORD rc = ni_win_path(path, &wide);
    if (rc != 0)
        return (int32_t)rc;

    DWORD attributes = FILE_ATTRIBUTE_NORMAL;
    /* The owner-write bit is the only POSIX permission Windows can store: none means read-only. */
    if ((flags & NI_O_CREAT) && !(mode & 0200))
        attributes = FILE_ATTRIBUTE_READONLY;
    if (flags & NI_O_SYNC) attributes |= FILE_FLAG_WRITE_THROUGH;
    if (flags & NI_O_NOFOLLOW) attributes |= FILE_FLAG_OPEN_REPARSE_POINT;
    if (flags & NI_O_DELETE_ON_CLOSE) attributes |= FILE_FLAG_DELETE_ON_CLOSE;
    if (flags & NI_O_ASYNC) attributes |= FILE_FLAG_OVERLAPPED;
    if (flags & NI_O_RANDOM) attributes |= FILE_FLAG_RANDOM_ACCESS;
    else if (flags & NI_O_SEQUENTIAL) attributes |= FILE_FLAG_SEQUENTIAL_SCAN;

    HANDLE handle = CreateFileW(wide, desired_access(flags), share_mode(flags), &ni_win_no_inherit,
                                disposition(flags), attributes, NULL);
    DWORD open_error = handle == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    free(wide);
    if (handle == INVALID_HANDLE_VALUE)
        return (int32_t)open_error;

    /* A directory cannot be opened without FILE_FLAG_BACKUP_SEMANTICS; a device or pipe is fine. */
    if ((flags & NI_O_APPEND) && GetFileType(handle) == FILE_TYPE_DISK)
    {
        LARGE_INTEGER zero = { 0 };
        SetFilePointerEx(handle, zero, NULL, FILE_END);
    }
    *result = (ni_handle)handle;
    return 0;
}

int32_t ni_preallocate(ni_handle handle, int64_t length)
{
    if (length < 0)
        return ERROR_INVALID_PARAMETER;
    if (handle == NI_INVALID_HANDLE)
        return ERROR_INVALID_HANDLE;
    if (length == 0)
        return 0;
    /* An allocation below what the file has would cut it short: only ever grow it. */
    FILE_STANDARD_INFO standard;
    if (!GetFileInformationByHandleEx((HANDLE)handle, FileStandardInfo, &standard, sizeof(standard)))
        return (int32_t)GetLastError();
    if (length <= standard.AllocationSize.QuadPart || length <= standard.EndOfFile.QuadPart)
        return 0;
    FILE_ALLOCATION_INFO info;
    info.AllocationSize.QuadPart = length;
    if (!SetFileInformationByHandle((HANDLE)handle, FileAllocationInfo, &info, sizeof(info)))
        return (int32_t)GetLastError();
    return 0;
}
