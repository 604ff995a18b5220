/* ni_copyfile: CopyFileExW, whose own handles are never inheritable. */
#include "win.h"

#include <stdlib.h>

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

int32_t ni_copyfile(const char* source, const char* destination, int32_t flags)
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
        /* The same answers as the POSIX build for the cases CopyFileExW reports differently. */
        if (is_directory(src))
            rc = ERROR_DIRECTORY_NOT_SUPPORTED;
        else if (same_file(src, dst))
            rc = (flags & NI_COPY_OVERWRITE) ? ERROR_INVALID_PARAMETER : ERROR_FILE_EXISTS;
        else if (is_directory(dst))
            rc = (flags & NI_COPY_OVERWRITE) ? ERROR_ACCESS_DENIED : ERROR_FILE_EXISTS;
        else if (!CopyFileExW(src, dst, NULL, NULL, NULL, (flags & NI_COPY_OVERWRITE) ? 0 : COPY_FILE_FAIL_IF_EXISTS))
            rc = GetLastError();
    }
    free(src);
    free(dst);
    return (int32_t)rc;
}
