/* ni_copyfile on Windows. */
#include "ni_test.h"

#include <windows.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#  define ERROR_DIRECTORY_NOT_SUPPORTED 336L /* missing from older MinGW headers */
#endif

static DWORD attributes(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    DWORD result = wide != NULL ? GetFileAttributesW(wide) : INVALID_FILE_ATTRIBUTES;
    free(wide);
    return result;
}

static int exists(const char* path)
{
    return attributes(path) != INVALID_FILE_ATTRIBUTES;
}

static int make_dir(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    BOOL ok = wide != NULL && CreateDirectoryW(wide, NULL);
    free(wide);
    return ok;
}

/* Opens `path` sharing nothing: that fails while anyone, in any process, still has it open. */
static int nobody_has_open(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    HANDLE h = wide != NULL ? CreateFileW(wide, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING, 0, NULL)
                            : INVALID_HANDLE_VALUE;
    free(wide);
    if (h == INVALID_HANDLE_VALUE)
        return 0;
    CloseHandle(h);
    return 1;
}

static void copy_contents(void)
{
    static const size_t sizes[] = { 0, 1, (1u << 20) + 1 };
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    char* data = malloc(sizes[2]);
    if (!CHECK(data != NULL))
        return;
    uint64_t state = 0x9e3779b97f4a7c15u; /* xorshift: reproducible bytes that are not all alike */
    for (size_t i = 0; i < sizes[2]; i++)
    {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        data[i] = (char)state;
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK_OK(ni_test_write_file(src, data, sizes[i], 0644));
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK(ni_test_file_equals(dst, data, sizes[i]));
        CHECK(nobody_has_open(src) && nobody_has_open(dst));
        wchar_t* wide = ni_test_wide_path(dst);
        CHECK(wide != NULL && DeleteFileW(wide));
        free(wide);
    }
    free(data);
}

static void copy_existing_destination(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "new", 3, 0644));
    CHECK_OK(ni_test_write_file(dst, "old and longer", 14, 0644));
    CHECK_RC(ni_copyfile(src, dst, 0), ERROR_FILE_EXISTS);
    CHECK_INT(ni_error_kind(ni_copyfile(src, dst, 0)), NI_ERR_EXIST);
    CHECK(ni_test_file_equals(dst, "old and longer", 14));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(dst, "new", 3)); /* no stale tail of the longer old content */
    CHECK(nobody_has_open(src) && nobody_has_open(dst));
}

static void copy_onto_itself(void)
{
    char file[NI_TEST_PATH_MAX], upper[NI_TEST_PATH_MAX], slashes[NI_TEST_PATH_MAX], hardlink[NI_TEST_PATH_MAX];
    ni_test_path(file, "file");
    ni_test_path(upper, "FILE");     /* the same name to a case-insensitive file system */
    ni_test_path(slashes, "file");
    for (char* p = slashes; *p != '\0'; p++)
        if (*p == '\\')
            *p = '/';
    ni_test_path(hardlink, "hardlink");
    CHECK_OK(ni_test_write_file(file, "precious", 8, 0644));
    wchar_t *wide_file = ni_test_wide_path(file), *wide_link = ni_test_wide_path(hardlink);
    CHECK(wide_file != NULL && wide_link != NULL && CreateHardLinkW(wide_link, wide_file, NULL));
    free(wide_file);
    free(wide_link);

    const char* others[] = { file, upper, slashes, hardlink };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    {
        CHECK_RC(ni_copyfile(file, others[i], NI_COPY_OVERWRITE), ERROR_INVALID_PARAMETER);
        CHECK_RC(ni_copyfile(others[i], file, NI_COPY_OVERWRITE), ERROR_INVALID_PARAMETER);
        /* Without NI_COPY_OVERWRITE the destination exists, which is the answer (as File.Copy's). */
        CHECK_RC(ni_copyfile(file, others[i], 0), ERROR_FILE_EXISTS);
    }
    CHECK(ni_test_file_equals(file, "precious", 8));
    CHECK(nobody_has_open(file));
}

static void copy_directories(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_path(dir, "dir");
    CHECK_OK(ni_test_write_file(src, "s", 1, 0644));
    CHECK(make_dir(dir));
    int rc = ni_copyfile(dir, dst, 0);
    CHECK_RC(rc, ERROR_DIRECTORY_NOT_SUPPORTED);
    CHECK_INT(ni_error_kind(rc), NI_ERR_ISDIR);
    CHECK_RC(ni_copyfile(dir, dst, NI_COPY_OVERWRITE), ERROR_DIRECTORY_NOT_SUPPORTED);
    CHECK_RC(ni_copyfile(src, dir, 0), ERROR_FILE_EXISTS);
    CHECK_RC(ni_copyfile(src, dir, NI_COPY_OVERWRITE), ERROR_ACCESS_DENIED); /* File.Copy's answer */
    CHECK(!exists(dst));
    CHECK(attributes(dir) != INVALID_FILE_ATTRIBUTES && (attributes(dir) & FILE_ATTRIBUTE_DIRECTORY));
}

static void copy_errors(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX], orphan[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_path(missing, "missing");
    ni_test_path(orphan, "missing\\dst");
    CHECK_OK(ni_test_write_file(src, "s", 1, 0644));
    int handles = ni_test_count_handles();

    CHECK_RC(ni_copyfile(missing, dst, 0), ERROR_FILE_NOT_FOUND);
    CHECK_RC(ni_copyfile(src, orphan, 0), ERROR_PATH_NOT_FOUND);
    CHECK_INT(ni_error_kind(ni_copyfile(src, orphan, 0)), NI_ERR_NOTDIR_PATH);
    const int32_t unknown[] = { 0x0002, 0x0100, INT32_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_RC(ni_copyfile(src, dst, unknown[i]), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_copyfile(NULL, dst, 0), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_copyfile(src, NULL, 0), ERROR_INVALID_PARAMETER);
    CHECK_RC(ni_copyfile(src, "bad\xff", 0), ERROR_NO_UNICODE_TRANSLATION);

    CHECK(!exists(dst));
    CHECK_INT(ni_test_count_handles(), handles);
}

static void copy_long_and_utf8_paths(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX];
    ni_test_path(src, u8"\u00e4\u00f6\u00fc-\u65e5\u672c-\U0001F600");
    ni_test_path(dir, "");
    for (int level = 0; level < 5; level++)
    {
        size_t length = strlen(dir);
        snprintf(dir + length, sizeof dir - length, "%.*s%d\\", 59, "a-directory-whose-name-is-long-enough-"
                 "0123456789abcdefghijklmnopqrstuvwxyz", level);
        CHECK(make_dir(dir));
    }
    snprintf(dst, sizeof dst, "%s%s", dir, u8"k\u00f6pia");
    CHECK(strlen(dst) > MAX_PATH);
    CHECK_OK(ni_test_write_file(src, "unicode", 7, 0644));
    CHECK_OK(ni_copyfile(src, dst, 0));
    CHECK(ni_test_file_equals(dst, "unicode", 7));
    CHECK_RC(ni_copyfile(src, dst, 0), ERROR_FILE_EXISTS);
    CHECK_RC(ni_copyfile(dst, dst, NI_COPY_OVERWRITE), ERROR_INVALID_PARAMETER);
    CHECK_OK(ni_copyfile(dst, src, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(src, "unicode", 7));
}

static void copy_metadata(void)
{
    /* As File.Copy: the last write time and the read-only attribute come along. */
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "t", 1, 0644));
    wchar_t* wide = ni_test_wide_path(src);
    HANDLE h = wide != NULL ? CreateFileW(wide, FILE_WRITE_ATTRIBUTES, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL)
                            : INVALID_HANDLE_VALUE;
    FILETIME when = { 0x2a3b4c00, 0x01c07385 }; /* in 2001 */
    CHECK(h != INVALID_HANDLE_VALUE && SetFileTime(h, NULL, NULL, &when));
    CloseHandle(h);
    CHECK(wide != NULL && SetFileAttributesW(wide, FILE_ATTRIBUTE_READONLY));
    free(wide);

    CHECK_OK(ni_copyfile(src, dst, 0));
    wide = ni_test_wide_path(dst);
    WIN32_FILE_ATTRIBUTE_DATA data;
    if (CHECK(wide != NULL && GetFileAttributesExW(wide, GetFileExInfoStandard, &data)))
    {
        CHECK(data.dwFileAttributes & FILE_ATTRIBUTE_READONLY);
        CHECK_INT(data.ftLastWriteTime.dwHighDateTime, when.dwHighDateTime);
        CHECK_INT(data.ftLastWriteTime.dwLowDateTime, when.dwLowDateTime);
    }
    free(wide);
}

NI_TEST_MAIN(
    NI_TEST(copy_contents),
    NI_TEST(copy_existing_destination),
    NI_TEST(copy_onto_itself),
    NI_TEST(copy_directories),
    NI_TEST(copy_errors),
    NI_TEST(copy_long_and_utf8_paths),
    NI_TEST(copy_metadata))
