/*
 * ni_copyfile / ni_copyfile_ex: CopyFileExW into a temporary file in the destination's directory, then
 * MoveFileExW over the destination, so that the destination is never partly written; with NI_COPY_DURABLE
 * the temp is flushed (FlushFileBuffers) first and the move written through (MOVEFILE_WRITE_THROUGH).
 * CopyFileExW's own handles are never inheritable; its progress routine carries the progress callback and
 * cancellation.
 */
#include "win.h"

#include <stdio.h>
#include <stdlib.h>
#include <wchar.h>

/* Opens for identity only (no data access), so it works whatever the sharing of the file. */
static HANDLE open_for_identity(const wchar_t* path)
{
    return CreateFileW(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, &ni_win_no_inherit,
                       OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
}

static int same_file(const wchar_t* source, const wchar_t* destination)
{
    HANDLE a = open_for_identity(source);
    if (a == INVALID_HANDLE_VALUE)
        return 0;
    HANDLE b = open_for_identity(destination);
    int same = 0;
    if (b != INVALID_HANDLE_VALUE)
    {
        BY_HANDLE_FILE_INFORMATION ia, ib;
        same = GetFileInformationByHandle(a, &ia) && GetFileInformationByHandle(b, &ib) &&
               ia.dwVolumeSerialNumber == ib.dwVolumeSerialNumber &&
               ia.nFileIndexHigh == ib.nFileIndexHigh && ia.nFileIndexLow == ib.nFileIndexLow;
        CloseHandle(b);
    }
    CloseHandle(a);
    return same;
}

static int is_directory(const wchar_t* path)
{
    DWORD attributes = GetFileAttributesW(path);
    return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY);
}

/* Progress and cancellation through CopyFileExW's progress routine. */
struct progress
{
    ni_copy_progress callback;
    void* state;
    LONGLONG reported; /* the last value given to the callback, -1 before the first */
    int cancelled;
};

static int report(struct progress* p, LONGLONG copied)
{
    if (p->callback == NULL || p->cancelled || copied == p->reported)
        return p->cancelled;
    p->reported = copied;
    if (p->callback((int64_t)copied, p->state) != 0)
        p->cancelled = 1;
    return p->cancelled;
}

static DWORD CALLBACK on_progress(LARGE_INTEGER total_size, LARGE_INTEGER transferred, LARGE_INTEGER stream_size,
                                  LARGE_INTEGER stream_transferred, DWORD stream, DWORD reason, HANDLE source,
                                  HANDLE destination, LPVOID data)
{
    (void)total_size; (void)stream_size; (void)stream_transferred; (void)stream; (void)reason;
    (void)source; (void)destination;
    return report((struct progress*)data, transferred.QuadPart) ? PROGRESS_CANCEL : PROGRESS_CONTINUE;
}

static int is_separator(wchar_t c)
{
    return c == L'\\' || c == L'/';
}

/* `path` made absolute and \\?\-prefixed, so that a longer name beside it works at any length. */
static wchar_t* full_path(const wchar_t* path)
{
    if (wcsncmp(path, L"\\\\?\\", 4) == 0)
        return _wcsdup(path);
    DWORD length = GetFullPathNameW(path, 0, NULL, NULL);
    if (length == 0)
        return NULL;
    wchar_t* full = malloc(((size_t)length + 8) * sizeof(wchar_t));
    if (full == NULL)
        return NULL;
    wchar_t* body = full + 8;
    if (GetFullPathNameW(path, length, body, NULL) == 0)
    {
        free(full);
        return NULL;
    }
    if (is_separator(body[0]) && is_separator(body[1]))
    {
        body += 2; /* \\server\share\... becomes \\?\UNC\server\share\... */
        body -= 8;
        wmemcpy(body, L"\\\\?\\UNC\\", 8);
    }
    else
    {
        body -= 4;
        wmemcpy(body, L"\\\\?\\", 4);
    }
    memmove(full, body, (wcslen(body) + 1) * sizeof(wchar_t));
    return full;
}

/* A new temp name in the directory of `target`: "<dir>\.ni-copy-<16 hex digits>.tmp". */
static wchar_t* temp_name(const wchar_t* target)
{
    static volatile LONG counter;
    wchar_t* full = full_path(target);
    if (full == NULL)
        return NULL;
    size_t dir = wcslen(full);
    while (dir > 0 && !is_separator(full[dir - 1]))
        dir--;
    wchar_t* temp = malloc((dir + 32) * sizeof(wchar_t));
    if (temp != NULL)
    {
        LARGE_INTEGER now;
        QueryPerformanceCounter(&now);
        unsigned long long x = (unsigned long long)now.QuadPart ^ ((unsigned long long)GetCurrentProcessId() << 32) ^
                               ((unsigned long long)InterlockedIncrement(&counter) * 0x9e3779b97f4a7c15ull);
        x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33;
        wmemcpy(temp, full, dir);
        _snwprintf(temp + dir, 32, L".ni-copy-%016llx.tmp", x);
        temp[dir + 31] = L'\0';
    }
    free(full);
    return temp;
}

static void delete_temp(const wchar_t* temp)
{
    /* A read-only temp (the source's attribute came along) cannot be deleted as it is. */
    SetFileAttributesW(temp, FILE_ATTRIBUTE_NORMAL);
    DeleteFileW(temp);
}

/* The path a symlinked destination finally names, or NULL (not a link, or a dangling one). */
static wchar_t* resolve_link(const wchar_t* path, DWORD attributes)
{
    if (attributes == INVALID_FILE_ATTRIBUTES || !(attributes & FILE_ATTRIBUTE_REPARSE_POINT))
        return NULL;
    HANDLE h = open_for_identity(path);
    if (h == INVALID_HANDLE_VALUE)
        return NULL;
    wchar_t* final = NULL;
    DWORD length = GetFinalPathNameByHandleW(h, NULL, 0, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (length > 0 && (final = malloc(((size_t)length + 1) * sizeof(wchar_t))) != NULL &&
        GetFinalPathNameByHandleW(h, final, length + 1, FILE_NAME_NORMALIZED | VOLUME_NAME_DOS) == 0)
    {
        free(final);
        final = NULL;
    }
    CloseHandle(h);
    return final;
}

/* Whether a failed MoveFileExW over an existing destination should become an in-place copy (what
   File.Copy does): the destination is open without delete sharing, or its directory refuses. */
static int replace_refused(DWORD error)
{
    return error == ERROR_ACCESS_DENIED || error == ERROR_SHARING_VIOLATION || error == ERROR_LOCK_VIOLATION ||
           error == ERROR_NOT_SAME_DEVICE;
}

/* NI_COPY_DURABLE: the file's data and metadata to stable storage (FlushFileBuffers needs write access; a read-only
   file, as a temp gets from a read-only source, is made writable for the flush and read-only again). */
static DWORD flush_file(const wchar_t* path)
{
    DWORD attributes = GetFileAttributesW(path);
    int read_only = attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_READONLY);
    if (read_only && !SetFileAttributesW(path, attributes & ~FILE_ATTRIBUTE_READONLY))
        return GetLastError();
    HANDLE h = CreateFileW(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           &ni_win_no_inherit, OPEN_EXISTING, 0, NULL);
    DWORD rc = h == INVALID_HANDLE_VALUE ? GetLastError() : FlushFileBuffers(h) ? 0 : GetLastError();
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (read_only && !SetFileAttributesW(path, attributes) && rc == 0)
        rc = GetLastError();
    return rc;
}

/* A copy written straight to its destination (in place, or through a dangling symlink), flushed when durable. */
static DWORD copy_direct(const wchar_t* from, const wchar_t* to, int durable, struct progress* p, BOOL* cancel)
{
    if (!CopyFileExW(from, to, p != NULL ? on_progress : NULL, p, cancel, 0))
        return GetLastError();
    return durable ? flush_file(to) : 0;
}

static DWORD copy_file(const wchar_t* src, const wchar_t* dst, int overwrite, int durable, struct progress* p)
{
    DWORD attributes = GetFileAttributesW(dst);
    if (!overwrite && attributes != INVALID_FILE_ATTRIBUTES)
        return ERROR_FILE_EXISTS; /* before anything is read */
    /* 0: the caller may cancel before anything is copied. */
    if (report(p, 0))
        return ERROR_CANCELLED;

    wchar_t* resolved = overwrite ? resolve_link(dst, attributes) : NULL;
    const wchar_t* target = resolved != NULL ? resolved : dst;
    int exists = resolved != NULL || attributes != INVALID_FILE_ATTRIBUTES;
    int dangling = resolved == NULL && attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_REPARSE_POINT);

    DWORD rc = 0;
    wchar_t* temp = NULL;
    BOOL cancel = FALSE;
    DWORD target_attributes = resolved != NULL ? GetFileAttributesW(resolved) : attributes;
    if (exists && target_attributes != INVALID_FILE_ATTRIBUTES && (target_attributes & FILE_ATTRIBUTE_READONLY))
    {
        /* CopyFileExW refuses to overwrite a read-only file; MoveFileExW should too, but wine's does not. */
        rc = ERROR_ACCESS_DENIED;
        goto done;
    }
    if (dangling)
    {
        /* A dangling symlink: CopyFileExW creates its target through it, as File.Copy does. */
        rc = copy_direct(src, dst, durable, p, &cancel);
        goto done;
    }
    for (int attempt = 0;; attempt++)
    {
        free(temp);
        if ((temp = temp_name(target)) == NULL)
        {
            rc = GetLastError() != 0 ? GetLastError() : ERROR_NOT_ENOUGH_MEMORY;
            goto done;
        }
        if (CopyFileExW(src, temp, on_progress, p, &cancel, COPY_FILE_FAIL_IF_EXISTS))
            break;
        rc = GetLastError();
        if ((rc == ERROR_FILE_EXISTS || rc == ERROR_ALREADY_EXISTS) && attempt < 100)
            continue; /* someone else's temp: not ours to delete */
        delete_temp(temp); /* ours: whatever CopyFileExW left of it (it removes it itself when cancelled) */
        free(temp);
        temp = NULL;
        if (exists && overwrite && (rc == ERROR_ACCESS_DENIED || rc == ERROR_PRIVILEGE_NOT_HELD) && !p->cancelled)
        {
            /* The directory takes no new file, but the destination may be writable: as File.Copy. */
            rc = copy_direct(src, target, durable, p, &cancel);
        }
        goto done;
    }
    rc = 0;

    /* Wine (and any CopyFileExW that skips the routine) has not reported the end: the final size,
       last, before the destination is touched. */
    WIN32_FILE_ATTRIBUTE_DATA data;
    if (GetFileAttributesExW(temp, GetFileExInfoStandard, &data) &&
        report(p, ((LONGLONG)data.nFileSizeHigh << 32) | data.nFileSizeLow))
    {
        delete_temp(temp);
        goto done;
    }
    /* Durable: the temp on stable storage before its name changes, and the rename written through. */
    if (durable && (rc = flush_file(temp)) != 0)
    {
        delete_temp(temp);
        goto done;
    }
    if (!MoveFileExW(temp, target, (overwrite ? MOVEFILE_REPLACE_EXISTING : 0) | (durable ? MOVEFILE_WRITE_THROUGH : 0)))
    {
        rc = GetLastError();
        if (rc == ERROR_ALREADY_EXISTS)
            rc = ERROR_FILE_EXISTS; /* created meanwhile: the answer CopyFileExW would give */
        else if (overwrite && exists && replace_refused(rc))
            rc = copy_direct(temp, target, durable, NULL, NULL);
        delete_temp(temp);
    }

done:
    free(temp);
    free(resolved);
    if (p->cancelled)
        return ERROR_CANCELLED;
    return rc;
}

int32_t ni_copyfile_ex(const char* source, const char* destination, int32_t flags, ni_copy_progress progress,
                       void* state)
{
    if (source == NULL || destination == NULL)
        return ERROR_INVALID_PARAMETER;
    int32_t error = ni_check_copy_flags(flags);
    if (error != 0)
        return error;

    wchar_t *src = NULL, *dst = NULL;
    DWORD rc = ni_win_path(source, &src);
    if (rc == 0)
        rc = ni_win_path(destination, &dst);
    if (rc == 0)
    {
        int overwrite = (flags & NI_COPY_OVERWRITE) != 0, durable = (flags & NI_COPY_DURABLE) != 0;
        struct progress p = { progress, state, -1, 0 };
        /* The same answers as the POSIX build for the cases CopyFileExW reports differently. */
        if (is_directory(src))
            rc = ERROR_DIRECTORY_NOT_SUPPORTED;
        else if (GetFileAttributesW(src) == INVALID_FILE_ATTRIBUTES)
            rc = GetLastError(); /* missing source: its own error, before the destination's */
        else if (same_file(src, dst))
            rc = overwrite ? ERROR_INVALID_PARAMETER : ERROR_FILE_EXISTS;
        else if (is_directory(dst))
            rc = overwrite ? ERROR_ACCESS_DENIED : ERROR_FILE_EXISTS;
        else
            rc = copy_file(src, dst, overwrite, durable, &p);
    }
    free(src);
    free(dst);
    return (int32_t)rc;
}

int32_t ni_copyfile(const char* source, const char* destination, int32_t flags)
{
    return ni_copyfile_ex(source, destination, flags, NULL, NULL);
}
