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

/* A new temp name in the directory of `target`: "<dir>\\.ni-copy-<16 hex digits>.tmp". */
static DWORD temp_name(const wchar_t* target, wchar_t** result)
{
    static volatile LONG counter;
    wchar_t* full;
    DWORD error = ni_win_extended_path(target, &full);
    if (error != 0)
        return error;
    size_t dir = wcslen(full);
    while (dir > 0 && !ni_win_is_separator(full[dir - 1]))
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
    *result = temp;
    return temp != NULL ? 0 : ERROR_NOT_ENOUGH_MEMORY;
}

static void delete_temp(const wchar_t* temp)
{
    /* A read-only temp (the source's attribute came along) cannot be deleted as it is. */
    SetFileAttributesW(temp, FILE_ATTRIBUTE_NORMAL);
    DeleteFileW(temp);
}

/* The path a symlinked destination finally names, in *final; NULL there when it is no link, or a
   dangling one, or one whose target cannot be named (copied through, as a dangling one is).
   0 or ERROR_NOT_ENOUGH_MEMORY. */
static DWORD resolve_link(const wchar_t* path, DWORD attributes, wchar_t** final)
{
    *final = NULL;
    if (attributes == INVALID_FILE_ATTRIBUTES || !(attributes & FILE_ATTRIBUTE_REPARSE_POINT))
        return 0;
    HANDLE h = open_for_identity(path);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    const DWORD how = FILE_NAME_NORMALIZED | VOLUME_NAME_DOS;
    DWORD length = GetFinalPathNameByHandleW(h, NULL, 0, how);
    wchar_t* name = length > 0 ? malloc(((size_t)length + 1) * sizeof(wchar_t)) : NULL;
    DWORD error = length > 0 && name == NULL ? ERROR_NOT_ENOUGH_MEMORY : 0;
    if (name != NULL && GetFinalPathNameByHandleW(h, name, length + 1, how) == 0)
    {
        free(name);
        name = NULL;
    }
    CloseHandle(h);
    *final = name;
    return error;
}

/* Whether a failed MoveFileExW over an existing destination should become an in-place copy (what
   File.Copy does): the destination is open without delete sharing, or its directory refuses. */
static int replace_refused(DWORD error)
{
    return error == ERROR_ACCESS_DENIED || error == ERROR_SHARING_VIOLATION || error == ERROR_LOCK_VIOLATION ||
           error == ERROR_NOT_SAME_DEVICE;
}

/* CopyFileExW (with progress unless `p` is NULL) of `from` to `to`; 0 or a Win32 error. */
static DWORD copy_with_progress(const wchar_t* from, const wchar_t* to, DWORD flags, struct progress* p)
{
    BOOL cancel = FALSE;
    return CopyFileExW(from, to, p != NULL ? on_progress : NULL, p, &cancel, flags) ? 0 : GetLastError();
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
    DWORD error = h == INVALID_HANDLE_VALUE ? GetLastError() : FlushFileBuffers(h) ? 0 : GetLastError();
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    if (read_only && !SetFileAttributesW(path, attributes) && error == 0)
        error = GetLastError();
    return error;
}

/* A copy written straight to its destination (in place, or through a dangling symlink), flushed when durable. */
static DWORD copy_direct(const wchar_t* from, const wchar_t* to, int durable, struct progress* p)
{
    DWORD error = copy_with_progress(from, to, 0, p);
    return error == 0 && durable ? flush_file(to) : error;
}

/* A copy of `src` in a new temp beside `target`, in *temp; on failure nothing of ours is left. */
static DWORD copy_to_temp(const wchar_t* src, const wchar_t* target, struct progress* p, wchar_t** temp)
{
    for (int attempt = 0;; attempt++)
    {
        wchar_t* name;
        DWORD error = temp_name(target, &name);
        if (error != 0)
            return error;
        error = copy_with_progress(src, name, COPY_FILE_FAIL_IF_EXISTS, p);
        if (error == 0)
        {
            *temp = name;
            return 0;
        }
        int taken = error == ERROR_FILE_EXISTS || error == ERROR_ALREADY_EXISTS;
        if (!taken)
            delete_temp(name); /* ours: whatever CopyFileExW left of it (it removes it itself when cancelled) */
        free(name);
        if (!taken || attempt == 100)
            return error;
        /* someone else's temp: not ours to delete; another name */
    }
}

/* Moves the finished temp over `target` (an in-place copy where the replace is refused, as File.Copy
   does); the temp is gone afterwards. Durable: the temp on stable storage before its name changes, and
   the rename written through. */
static DWORD move_over(const wchar_t* temp, const wchar_t* target, int overwrite, int exists, int durable)
{
    DWORD error = durable ? flush_file(temp) : 0;
    if (error == 0)
    {
        DWORD how = (overwrite ? MOVEFILE_REPLACE_EXISTING : 0) | (durable ? MOVEFILE_WRITE_THROUGH : 0);
        if (MoveFileExW(temp, target, how))
            return 0;
        error = GetLastError();
        if (error == ERROR_ALREADY_EXISTS)
            error = ERROR_FILE_EXISTS; /* created meanwhile: the answer CopyFileExW would give */
        else if (overwrite && exists && replace_refused(error))
            error = copy_direct(temp, target, durable, NULL);
    }
    delete_temp(temp);
    return error;
}

/* `src` copied to a temp beside `target`, then moved over it: the destination is never partly written. */
static DWORD copy_via_temp(const wchar_t* src, const wchar_t* target, int overwrite, int exists, int durable,
                           struct progress* p)
{
    wchar_t* temp;
    DWORD error = copy_to_temp(src, target, p, &temp);
    if (error != 0)
    {
        /* The directory takes no new file, but the destination may be writable: as File.Copy. */
        if (exists && overwrite && (error == ERROR_ACCESS_DENIED || error == ERROR_PRIVILEGE_NOT_HELD) && !p->cancelled)
            error = copy_direct(src, target, durable, p);
        return error;
    }
    /* Wine (and any CopyFileExW that skips the routine) has not reported the end: the final size,
       last, before the destination is touched. */
    WIN32_FILE_ATTRIBUTE_DATA data;
    if (GetFileAttributesExW(temp, GetFileExInfoStandard, &data) &&
        report(p, ((LONGLONG)data.nFileSizeHigh << 32) | data.nFileSizeLow))
        delete_temp(temp);
    else
        error = move_over(temp, target, overwrite, exists, durable);
    free(temp);
    return error;
}

static DWORD copy_file(const wchar_t* src, const wchar_t* dst, int overwrite, int durable, struct progress* p)
{
    DWORD attributes = GetFileAttributesW(dst);
    if (!overwrite && attributes != INVALID_FILE_ATTRIBUTES)
        return ERROR_FILE_EXISTS; /* before anything is read */
    /* 0: the caller may cancel before anything is copied. */
    if (report(p, 0))
        return ERROR_CANCELLED;

    wchar_t* resolved = NULL;
    DWORD error = overwrite ? resolve_link(dst, attributes, &resolved) : 0;
    if (error != 0)
        return error;
    const wchar_t* target = resolved != NULL ? resolved : dst;
    int exists = resolved != NULL || attributes != INVALID_FILE_ATTRIBUTES;
    int dangling = resolved == NULL && attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_REPARSE_POINT);
    DWORD target_attributes = resolved != NULL ? GetFileAttributesW(resolved) : attributes;
    if (exists && target_attributes != INVALID_FILE_ATTRIBUTES && (target_attributes & FILE_ATTRIBUTE_READONLY))
        error = ERROR_ACCESS_DENIED; /* CopyFileExW refuses to overwrite a read-only file; wine's MoveFileExW does not */
    else if (dangling)
        error = copy_direct(src, dst, durable, p); /* CopyFileExW creates the link's target, as File.Copy does */
    else
        error = copy_via_temp(src, target, overwrite, exists, durable, p);
    free(resolved);
    return p->cancelled ? ERROR_CANCELLED : error;
}

/* The same answers as the POSIX build for the cases CopyFileExW reports differently, else the copy. */
static DWORD copy_paths(const wchar_t* src, const wchar_t* dst, int overwrite, int durable, struct progress* p)
{
    if (is_directory(src))
        return ERROR_DIRECTORY_NOT_SUPPORTED;
    if (GetFileAttributesW(src) == INVALID_FILE_ATTRIBUTES)
        return GetLastError(); /* missing source: its own error, before the destination's */
    if (same_file(src, dst))
        return overwrite ? ERROR_INVALID_PARAMETER : ERROR_FILE_EXISTS;
    if (is_directory(dst))
        return overwrite ? ERROR_ACCESS_DENIED : ERROR_FILE_EXISTS;
    return copy_file(src, dst, overwrite, durable, p);
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
    struct progress p = { progress, state, -1, 0 };
    DWORD rc = ni_win_path(source, &src);
    if (rc == 0 && (rc = ni_win_path(destination, &dst)) == 0)
        rc = copy_paths(src, dst, (flags & NI_COPY_OVERWRITE) != 0, (flags & NI_COPY_DURABLE) != 0, &p);
    free(src);
    free(dst);
    return (int32_t)rc;
}

int32_t ni_copyfile(const char* source, const char* destination, int32_t flags)
{
    return ni_copyfile_ex(source, destination, flags, NULL, NULL);
}
