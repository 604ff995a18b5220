/* ni_open and ni_preallocate on Windows. */
#include "ni_test.h"

#include <windows.h>
#include <stdlib.h>
#include <string.h>

static long long file_size(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    WIN32_FILE_ATTRIBUTE_DATA data;
    BOOL ok = wide != NULL && GetFileAttributesExW(wide, GetFileExInfoStandard, &data);
    free(wide);
    return ok ? (long long)data.nFileSizeHigh << 32 | data.nFileSizeLow : -1;
}

static DWORD attributes(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    DWORD result = wide != NULL ? GetFileAttributesW(wide) : INVALID_FILE_ATTRIBUTES;
    free(wide);
    return result;
}

static long long written(ni_handle h, const char* text)
{
    DWORD n = 0;
    return WriteFile((HANDLE)h, text, (DWORD)strlen(text), &n, NULL) ? (long long)n : -(long long)GetLastError();
}

static void seek(ni_handle h, long long offset)
{
    LARGE_INTEGER to;
    to.QuadPart = offset;
    CHECK(SetFilePointerEx((HANDLE)h, to, NULL, FILE_BEGIN));
}

static void open_creates_non_inheritable(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "new");
    ni_handle h = NI_INVALID_HANDLE;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    CHECK_INT(ni_test_inherit_flag(h), 0);
    CHECK_INT(GetFileType((HANDLE)h), FILE_TYPE_DISK);
    CHECK_INT(written(h, "abc"), 3);
    CHECK_OK(ni_close(h));
    CHECK(ni_test_file_equals(path, "abc", 3));

    if (CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &h))) /* existing file, no NI_O_CREAT */
    {
        char buffer[4];
        DWORD n = 0;
        CHECK(ReadFile((HANDLE)h, buffer, sizeof buffer, &n, NULL) && n == 3 && memcmp(buffer, "abc", 3) == 0);
        CHECK_INT(written(h, "x"), -ERROR_ACCESS_DENIED); /* opened for reading only */
        CHECK_INT(ni_test_inherit_flag(h), 0);
        CHECK_OK(ni_close(h));
    }
}

static void open_is_not_inherited(void)
{
    char ours_path[NI_TEST_PATH_MAX], control_path[NI_TEST_PATH_MAX];
    ni_test_path(ours_path, "ours");
    ni_test_path(control_path, "control");
    ni_handle ours;
    if (!CHECK_OK(ni_open(ours_path, NI_O_WRONLY | NI_O_CREAT | NI_O_EXCL, 0600, &ours)))
        return;
    SECURITY_ATTRIBUTES inheritable = { sizeof inheritable, NULL, TRUE };
    wchar_t* wide = ni_test_wide_path(control_path);
    HANDLE control = CreateFileW(wide, GENERIC_WRITE, 0, &inheritable, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    free(wide);
    if (CHECK(control != INVALID_HANDLE_VALUE))
    {
        CHECK_NOT_INHERITED(ours, (ni_handle)control);
        CloseHandle(control);
    }
    CHECK_OK(ni_close(ours));
}

static void open_utf8_names(void)
{
    /* The UTF-16 names are spelled by the compiler, so the check does not trust any conversion. */
    static const struct { const char* utf8; const wchar_t* utf16; } names[] = {
        { u8"gr\u00fc\u00dfe.txt", L"gr\u00fc\u00dfe.txt" },
        { u8"\u65e5\u672c\u8a9e", L"\u65e5\u672c\u8a9e" },
        { u8"emoji \U0001F600", L"emoji \U0001F600" }, /* outside the BMP: a surrogate pair */
    };
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(dir, "");
    wchar_t* wide_dir = ni_test_wide_path(dir);
    if (!CHECK(wide_dir != NULL))
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
        char path[NI_TEST_PATH_MAX];
        ni_test_path(path, names[i].utf8);
        ni_handle h;
        if (!CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_CREAT | NI_O_EXCL, 0644, &h)))
            continue;
        CHECK_INT(written(h, names[i].utf8), (long long)strlen(names[i].utf8));
        CHECK_OK(ni_close(h));

        wchar_t expected[NI_TEST_PATH_MAX];
        _snwprintf(expected, NI_TEST_PATH_MAX, L"%ls%ls", wide_dir, names[i].utf16);
        expected[NI_TEST_PATH_MAX - 1] = L'\0';
        CHECK(GetFileAttributesW(expected) != INVALID_FILE_ATTRIBUTES);
        CHECK(ni_test_file_equals(path, names[i].utf8, strlen(names[i].utf8)));
        if (CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &h)))
            CHECK_OK(ni_close(h));
    }
    free(wide_dir);

    char invalid[NI_TEST_PATH_MAX];
    ni_test_path(invalid, "bad\xff\xfe");
    ni_handle h = 12345;
    CHECK_RC(ni_open(invalid, NI_O_WRONLY | NI_O_CREAT, 0644, &h), ERROR_NO_UNICODE_TRANSLATION);
    CHECK_INT(h, 12345);
}

static void open_long_path(void)
{
    /* Nested directories of 60 characters each: the file's path is far beyond MAX_PATH (260). */
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "");
    for (int level = 0; level < 6; level++)
    {
        size_t length = strlen(path);
        snprintf(path + length, sizeof path - length, "%.*s%d\\", 59, "directory-name-long-enough-to-matter-"
                 "0123456789abcdefghijklmnopqrstuvwxyz", level);
        wchar_t* wide = ni_test_wide_path(path);
        CHECK(wide != NULL && CreateDirectoryW(wide, NULL));
        free(wide);
    }
    strcat(path, "file.txt");
    CHECK(strlen(path) > MAX_PATH);

    ni_handle h;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_EXCL, 0644, &h)))
    {
        CHECK_INT(written(h, "deep"), 4);
        CHECK_INT(ni_test_inherit_flag(h), 0);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "deep", 4));

    /* The same file through '/' separators, which the \\?\ form does not take as they are. */
    for (char* p = path; *p != '\0'; p++)
        if (*p == '\\')
            *p = '/';
    if (CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &h)))
    {
        char buffer[8];
        DWORD n = 0;
        CHECK(ReadFile((HANDLE)h, buffer, sizeof buffer, &n, NULL) && n == 4 && memcmp(buffer, "deep", 4) == 0);
        CHECK_OK(ni_close(h));
    }
}

static void open_errors(void)
{
    char path[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX], missing_dir[NI_TEST_PATH_MAX];
    ni_test_path(path, "existing");
    ni_test_path(missing, "missing");
    ni_test_path(missing_dir, "missing\\file");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    int handles = ni_test_count_handles();
    ni_handle h = 12345; /* out-parameters are written only on success */

    CHECK_RC(ni_open(missing, NI_O_RDONLY, 0, &h), ERROR_FILE_NOT_FOUND);
    CHECK_RC(ni_open(missing_dir, NI_O_RDONLY, 0, &h), ERROR_PATH_NOT_FOUND);
    CHECK_RC(ni_open(missing_dir, NI_O_WRONLY | NI_O_CREAT, 0644, &h), ERROR_PATH_NOT_FOUND);
    CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_CREAT | NI_O_EXCL, 0644, &h), ERROR_FILE_EXISTS);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_EXCL, 0, &h), ERROR_INVALID_PARAMETER); /* EXCL without CREAT */
    CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_RDWR, 0, &h), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK | NI_O_EXLOCK, 0, &h), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_TRUNC, 0, &h), ERROR_INVALID_PARAMETER); /* truncating needs write */
    const int32_t unknown[] = { 0x0004, 0x0008, 0x0800, 0x200000, 0x40000000, INT32_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_RC(ni_open(path, NI_O_RDONLY | unknown[i], 0, &h), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_open(NULL, NI_O_RDONLY, 0, &h), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_open(path, NI_O_RDONLY, 0, NULL), ERROR_INVALID_PARAMETER);
    const int32_t bad_modes[] = { 010000, 0100644 /* S_IFREG by mistake */, -1 };
    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++)
        CHECK_RC(ni_open(missing, NI_O_WRONLY | NI_O_CREAT, bad_modes[i], &h), ERROR_INVALID_PARAMETER);
    CHECK_INT(file_size(missing), -1); /* the rejected calls created nothing */

    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
}

static void open_directory(void)
{
    /* CreateFileW opens a directory only with FILE_FLAG_BACKUP_SEMANTICS, which ni_open never asks for. */
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(dir, "dir");
    wchar_t* wide = ni_test_wide_path(dir);
    CHECK(wide != NULL && CreateDirectoryW(wide, NULL));
    free(wide);
    ni_handle h = 12345;
    CHECK_RC(ni_open(dir, NI_O_RDONLY, 0, &h), ERROR_ACCESS_DENIED);
    CHECK_RC(ni_open(dir, NI_O_RDONLY | NI_O_NOTDIR, 0, &h), ERROR_ACCESS_DENIED);
    CHECK_RC(ni_open(dir, NI_O_WRONLY, 0, &h), ERROR_ACCESS_DENIED);
    CHECK_INT(h, 12345);
}

static void open_sharing(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "shared");
    CHECK_OK(ni_test_write_file(path, "content", 7, 0644));
    int handles = ni_test_count_handles();
    ni_handle holder, other, h = 12345;

    /* NI_O_EXLOCK alone shares nothing: every other open conflicts, and no truncation happens. */
    if (CHECK_OK(ni_open(path, NI_O_RDONLY | NI_O_EXLOCK, 0, &holder)))
    {
        CHECK_RC(ni_open(path, NI_O_RDONLY, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_EXLOCK, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_TRUNC | NI_O_EXLOCK, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_INT(ni_error_kind(ni_open(path, NI_O_RDONLY, 0, &h)), NI_ERR_WOULDBLOCK);
        CHECK_INT(file_size(path), 7);
        CHECK_INT(ni_test_count_handles(), handles + 1);
        CHECK_OK(ni_close(holder));
    }

    /* NI_O_SHLOCK alone shares reading: readers coexist, a writer does not. */
    if (CHECK_OK(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &holder)))
    {
        if (CHECK_OK(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &other)))
            CHECK_OK(ni_close(other));
        CHECK_RC(ni_open(path, NI_O_RDWR | NI_O_EXLOCK, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_RC(ni_open(path, NI_O_WRONLY, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_OK(ni_close(holder));
    }

    /* Explicit share flags: others may read, not write. */
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_SHARE_READ, 0, &holder)))
    {
        if (CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &other)))
            CHECK_OK(ni_close(other));
        CHECK_RC(ni_open(path, NI_O_WRONLY, 0, &h), ERROR_SHARING_VIOLATION);
        CHECK_OK(ni_close(holder));
    }

    /* Without lock or share flags everything is shared, as on POSIX. */
    if (CHECK_OK(ni_open(path, NI_O_RDWR, 0, &holder)))
    {
        if (CHECK_OK(ni_open(path, NI_O_RDWR, 0, &other)))
            CHECK_OK(ni_close(other));
        CHECK_OK(ni_close(holder));
    }

    if (CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_TRUNC | NI_O_EXLOCK, 0, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(file_size(path), 0); /* with nobody else holding it, truncation happens */
    CHECK_INT(ni_test_count_handles(), handles);
}

static void open_append(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
    ni_handle h;
    if (CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_APPEND, 0, &h)))
    {
        LARGE_INTEGER zero = { 0 }, position;
        CHECK(SetFilePointerEx((HANDLE)h, zero, &position, FILE_CURRENT) && position.QuadPart == 10);
        seek(h, 0); /* appends anyway */
        CHECK_INT(written(h, "ab"), 2);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "0123456789ab", 12));

    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_APPEND, 0, &h)))
    {
        char buffer[2];
        DWORD n = 0;
        seek(h, 0);
        CHECK(ReadFile((HANDLE)h, buffer, 2, &n, NULL) && n == 2 && memcmp(buffer, "01", 2) == 0);
        CHECK_INT(written(h, "cd"), 2);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "0123456789abcd", 14));
}

/* Whether ni_open refuses `flags` on `path` with ERROR_INVALID_PARAMETER (a handle it gave anyway is closed). */
static int refused(const char* path, int32_t flags)
{
    ni_handle h = 12345;
    int32_t rc = ni_open(path, flags, 0644, &h);
    if (rc == 0)
        ni_close(h);
    return CHECK_RC(rc, ERROR_INVALID_PARAMETER) & CHECK_INT(h, 12345);
}

static void open_truncate(void)
{
    char path[NI_TEST_PATH_MAX], created[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_test_path(created, "created");
    ni_handle h = 12345;
    CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
    if (CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_TRUNC, 0, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(file_size(path), 0);

    CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_TRUNC, 0644, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(file_size(path), 0);

    if (CHECK_OK(ni_open(created, NI_O_WRONLY | NI_O_CREAT | NI_O_TRUNC, 0644, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(file_size(created), 0);

    h = 12345;
    /* Read-only truncation is refused before anything is opened, whatever else is asked for, as
       .NET refuses FileMode.Truncate and FileMode.Create with FileAccess.Read. */
    const int32_t read_only_truncations[] = {
        NI_O_TRUNC, NI_O_TRUNC | NI_O_SHLOCK, NI_O_TRUNC | NI_O_EXLOCK, NI_O_TRUNC | NI_O_SHARE_READ,
        NI_O_TRUNC | NI_O_SHARE_READ | NI_O_SHARE_WRITE | NI_O_SHARE_DELETE, NI_O_TRUNC | NI_O_SHLOCK | NI_O_SHARE_WRITE,
        NI_O_TRUNC | NI_O_CREAT, NI_O_TRUNC | NI_O_CREAT | NI_O_EXLOCK, NI_O_TRUNC | NI_O_CREAT | NI_O_SHLOCK,
        NI_O_TRUNC | NI_O_CREAT | NI_O_EXCL, NI_O_TRUNC | NI_O_APPEND,
    };
    ni_test_path(created, "missing");
    for (size_t i = 0; i < sizeof read_only_truncations / sizeof read_only_truncations[0]; i++)
    {
        int32_t flags = NI_O_RDONLY | read_only_truncations[i];
        CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
        if (!refused(path, flags) | !CHECK_INT(file_size(path), 10) | !refused(created, flags) |
            !CHECK_INT(file_size(created), -1))
            printf("  for flags 0x%x\n", (unsigned)flags);
        wchar_t* wide = ni_test_wide_path(created);
        if (wide != NULL)
            DeleteFileW(wide); /* what a failing case created */
        free(wide);
    }
    CHECK_RC(ni_open(created, NI_O_WRONLY | NI_O_TRUNC, 0, &h), ERROR_FILE_NOT_FOUND);
    CHECK_INT(h, 12345);
}

static void open_delete_on_close(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "temporary");
    ni_handle h;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_DELETE_ON_CLOSE, 0644, &h)))
    {
        CHECK_INT(written(h, "gone soon"), 9);
        CHECK(attributes(path) != INVALID_FILE_ATTRIBUTES);
        CHECK_OK(ni_close(h));
    }
    CHECK(attributes(path) == INVALID_FILE_ATTRIBUTES && GetLastError() == ERROR_FILE_NOT_FOUND);
}

static void open_mode(void)
{
    /* The owner-write bit is the one permission Windows keeps: without it the file is read-only. */
    char writable[NI_TEST_PATH_MAX], read_only[NI_TEST_PATH_MAX];
    ni_test_path(writable, "writable");
    ni_test_path(read_only, "read-only");
    ni_handle h;
    if (CHECK_OK(ni_open(writable, NI_O_WRONLY | NI_O_CREAT, 0644, &h)))
        CHECK_OK(ni_close(h));
    if (CHECK_OK(ni_open(read_only, NI_O_WRONLY | NI_O_CREAT, 0444, &h)))
    {
        CHECK_INT(written(h, "x"), 1); /* the handle that created it may still write */
        CHECK_OK(ni_close(h));
    }
    CHECK_INT(attributes(writable) & FILE_ATTRIBUTE_READONLY, 0);
    CHECK(attributes(read_only) != INVALID_FILE_ATTRIBUTES && (attributes(read_only) & FILE_ATTRIBUTE_READONLY));
}

static void open_portable_flags(void)
{
    /* Flags that change how, not whether, the file opens: every one gives a non-inheritable handle. */
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "data", 4, 0644));
    const int32_t accepted[] = { NI_O_SYNC, NI_O_ASYNC, NI_O_RANDOM, NI_O_SEQUENTIAL, NI_O_NOFOLLOW, NI_O_NOTDIR,
                                 NI_O_SHARE_READ | NI_O_SHARE_WRITE | NI_O_SHARE_DELETE, NI_O_SHARE_DELETE };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
    {
        ni_handle h;
        if (!CHECK_OK(ni_open(path, NI_O_RDWR | accepted[i], 0, &h)))
            continue;
        CHECK_INT(ni_test_inherit_flag(h), 0);
        CHECK_OK(ni_close(h));
    }
}

static void preallocate(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "space");
    ni_handle h;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    const int64_t length = 1 << 20;
    int rc = ni_preallocate(h, length);
    FILE_STANDARD_INFO info;
    if (rc == ERROR_CALL_NOT_IMPLEMENTED)
        ni_test_skip("SetFileInformationByHandle(FileAllocationInfo) is not implemented (wine)");
    else if (CHECK_OK(rc) && CHECK(GetFileInformationByHandleEx((HANDLE)h, FileStandardInfo, &info, sizeof info)))
    {
        CHECK_INT(info.EndOfFile.QuadPart, 0);
        CHECK(info.AllocationSize.QuadPart >= length);
    }
    CHECK_OK(ni_close(h));
}

static void preallocate_arguments(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "space");
    ni_handle h;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    CHECK_OK(ni_preallocate(h, 0));
    CHECK_RC(ni_preallocate(h, -1), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_preallocate(h, INT64_MIN), ERROR_INVALID_PARAMETER);
    CHECK_INT(file_size(path), 0);
    CHECK_OK(ni_close(h));
}

NI_TEST_MAIN(
    NI_TEST(open_creates_non_inheritable),
    NI_TEST(open_is_not_inherited),
    NI_TEST(open_utf8_names),
    NI_TEST(open_long_path),
    NI_TEST(open_errors),
    NI_TEST(open_directory),
    NI_TEST(open_sharing),
    NI_TEST(open_append),
    NI_TEST(open_truncate),
    NI_TEST(open_delete_on_close),
    NI_TEST(open_mode),
    NI_TEST(open_portable_flags),
    NI_TEST(preallocate),
    NI_TEST(preallocate_arguments))
