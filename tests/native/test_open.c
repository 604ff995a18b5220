/* ni_open and ni_preallocate. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#  include <sys/file.h>
#  include <sys/stat.h>
#endif

static void open_creates_non_inheritable(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "new");
    ni_handle h = NI_INVALID_HANDLE;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    CHECK_INT(ni_test_inherit_flag(h), 0);
#ifdef _WIN32
    CHECK_INT(GetFileType((HANDLE)h), FILE_TYPE_DISK);
#else
    CHECK(h >= 0);
    CHECK_INT(fcntl((int)h, F_GETFL) & O_ACCMODE, O_RDWR);
#endif
    CHECK_INT(ni_test_write(h, "abc", 3), 3);
    CHECK_OK(ni_close(h));
    CHECK(ni_test_file_equals(path, "abc", 3));

    if (CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &h))) /* existing file, no NI_O_CREAT */
    {
        char buffer[4];
        CHECK(ni_test_read(h, buffer, sizeof buffer) == 3 && memcmp(buffer, "abc", 3) == 0);
        CHECK_INT(ni_test_write(h, "x", 1), -NI_TEST_CODE(EBADF, ERROR_ACCESS_DENIED)); /* opened for reading only */
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
    ni_handle control = ni_test_plain_file(control_path);
    if (CHECK(control != NI_INVALID_HANDLE))
    {
        CHECK_NOT_INHERITED(ours, control);
        CHECK_OK(ni_close(control));
    }
    CHECK_OK(ni_close(ours));
}

#ifdef _WIN32
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
        CHECK_INT(ni_test_write(h, names[i].utf8, strlen(names[i].utf8)), (long long)strlen(names[i].utf8));
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
#endif

static void open_long_path(void)
{
    /* Nested directories of 60 characters each: the file's path is far beyond Windows' MAX_PATH (260). */
    char path[NI_TEST_PATH_MAX];
    ni_test_make_deep_dir(path, 6);
    strcat(path, "file.txt");
    CHECK(strlen(path) > 260);

    ni_handle h;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_EXCL, 0644, &h)))
    {
        CHECK_INT(ni_test_write(h, "deep", 4), 4);
        CHECK_INT(ni_test_inherit_flag(h), 0);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "deep", 4));

    /* The same file through '/' separators, which Windows' \\?\ form does not take as they are. */
    for (char* p = path; *p != '\0'; p++)
        if (*p == '\\')
            *p = '/';
    if (CHECK_OK(ni_open(path, NI_O_RDONLY, 0, &h)))
    {
        char buffer[8];
        CHECK(ni_test_read(h, buffer, sizeof buffer) == 4 && memcmp(buffer, "deep", 4) == 0);
        CHECK_OK(ni_close(h));
    }
}

static void open_errors(void)
{
    char path[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX], missing_dir[NI_TEST_PATH_MAX];
    ni_test_path(path, "existing");
    ni_test_path(missing, "missing");
    ni_test_path(missing_dir, "missing" NI_TEST_SEPARATOR "file");
    CHECK_OK(ni_test_write_file(path, "x", 1, 0644));
    int handles = ni_test_count_handles();
    ni_handle h = 12345; /* out-parameters are written only on success */

    CHECK_RC(ni_open(missing, NI_O_RDONLY, 0, &h), NI_TEST_ENOENT);
    CHECK_RC(ni_open(missing_dir, NI_O_RDONLY, 0, &h), NI_TEST_CODE(ENOENT, ERROR_PATH_NOT_FOUND));
    CHECK_RC(ni_open(missing_dir, NI_O_WRONLY | NI_O_CREAT, 0644, &h), NI_TEST_CODE(ENOENT, ERROR_PATH_NOT_FOUND));
    CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_CREAT | NI_O_EXCL, 0644, &h), NI_TEST_EEXIST);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_EXCL, 0, &h), NI_TEST_EINVAL); /* EXCL without CREAT */
    CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_RDWR, 0, &h), NI_TEST_EINVAL);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK | NI_O_EXLOCK, 0, &h), NI_TEST_EINVAL);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_TRUNC, 0, &h), NI_TEST_EINVAL); /* truncating needs write */
    const int32_t unknown[] = { 0x0004, 0x0008, 0x0800, 0x200000, 0x40000000, INT32_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_RC(ni_open(path, NI_O_RDONLY | unknown[i], 0, &h), NI_TEST_EINVAL);
    CHECK_RC(ni_open(NULL, NI_O_RDONLY, 0, &h), NI_TEST_EINVAL);
    CHECK_RC(ni_open(path, NI_O_RDONLY, 0, NULL), NI_TEST_EINVAL);
    const int32_t bad_modes[] = { 010000, 0100644 /* S_IFREG by mistake */, -1 };
    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++)
        CHECK_RC(ni_open(missing, NI_O_WRONLY | NI_O_CREAT, bad_modes[i], &h), NI_TEST_EINVAL);
    CHECK_INT(ni_test_file_size(missing), -1); /* the rejected calls created nothing */
#ifndef _WIN32
    char through_file[NI_TEST_PATH_MAX];
    ni_test_path(through_file, "existing/child");
    CHECK_RC(ni_open(through_file, NI_O_RDONLY, 0, &h), ENOTDIR);
#endif

    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
}

static void open_directory(void)
{
    /* POSIX opens a directory for reading (as open() does) unless NI_O_NOTDIR says not to; CreateFileW
       opens one only with FILE_FLAG_BACKUP_SEMANTICS, which ni_open never asks for. */
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(dir, "dir");
    CHECK_OK(ni_test_mkdir(dir));
    ni_handle h = 12345;
    const int is_directory = NI_TEST_CODE(EISDIR, ERROR_ACCESS_DENIED);
    CHECK_RC(ni_open(dir, NI_O_RDONLY | NI_O_NOTDIR, 0, &h), is_directory);
    CHECK_RC(ni_open(dir, NI_O_WRONLY, 0, &h), is_directory);
    CHECK_RC(ni_open(dir, NI_O_RDWR, 0, &h), is_directory);
    CHECK_RC(ni_open(dir, NI_O_WRONLY | NI_O_NOTDIR, 0, &h), is_directory);
    CHECK_INT(h, 12345);
#ifdef _WIN32
    CHECK_RC(ni_open(dir, NI_O_RDONLY, 0, &h), ERROR_ACCESS_DENIED);
#else
    if (CHECK_OK(ni_open(dir, NI_O_RDONLY, 0, &h)))
        CHECK_OK(ni_close(h));
#endif
}

#ifndef _WIN32
static void open_nofollow(void)
{
    char target[NI_TEST_PATH_MAX], link[NI_TEST_PATH_MAX];
    ni_test_path(target, "target");
    ni_test_path(link, "link");
    CHECK_OK(ni_test_write_file(target, "t", 1, 0644));
    CHECK_INT(symlink(target, link), 0);
    ni_handle h;
    CHECK_RC(ni_open(link, NI_O_RDONLY | NI_O_NOFOLLOW, 0, &h), ELOOP);
    if (CHECK_OK(ni_open(link, NI_O_RDONLY, 0, &h)))
        CHECK_OK(ni_close(h));
}
#endif

static void open_append(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
    ni_handle h;
    if (CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_APPEND, 0, &h)))
    {
#ifdef _WIN32
        CHECK_INT(ni_test_seek(h, 0, SEEK_CUR), 10); /* Windows appends by starting at the end */
#endif
        CHECK_INT(ni_test_seek(h, 0, SEEK_SET), 0); /* appends anyway */
        CHECK_INT(ni_test_write(h, "ab", 2), 2);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "0123456789ab", 12));

    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_APPEND, 0, &h)))
    {
        char buffer[2];
        CHECK_INT(ni_test_seek(h, 0, SEEK_SET), 0);
        CHECK(ni_test_read(h, buffer, 2) == 2 && memcmp(buffer, "01", 2) == 0);
        CHECK_INT(ni_test_write(h, "cd", 2), 2);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "0123456789abcd", 14));

    /* NI_O_SYNC: writes reach the device before returning (O_SYNC, FILE_FLAG_WRITE_THROUGH). */
    if (CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_SYNC, 0, &h)))
    {
#ifndef _WIN32
        CHECK(fcntl((int)h, F_GETFL) & O_SYNC);
#endif
        CHECK_INT(ni_test_write(h, "AB", 2), 2);
        CHECK_OK(ni_close(h));
    }
    CHECK(ni_test_file_equals(path, "AB23456789abcd", 14));
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
    CHECK_INT(ni_test_file_size(path), 0);

    CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_TRUNC, 0644, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(ni_test_file_size(path), 0);

    if (CHECK_OK(ni_open(created, NI_O_WRONLY | NI_O_CREAT | NI_O_TRUNC, 0644, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(ni_test_file_size(created), 0);

    h = 12345;
    ni_test_path(created, "missing");
    CHECK_RC(ni_open(created, NI_O_WRONLY | NI_O_TRUNC, 0, &h), NI_TEST_ENOENT);
    CHECK_INT(h, 12345);
}

/* Whether ni_open refuses `flags` on `path` with EINVAL (a handle it gave anyway is closed). */
static int refused(const char* path, int32_t flags)
{
    ni_handle h = 12345;
    int32_t rc = ni_open(path, flags, 0644, &h);
    if (rc == 0)
        ni_close(h);
    return CHECK_RC(rc, NI_TEST_EINVAL) & CHECK_INT(h, 12345);
}

/* Truncation needs write access: NI_O_RDONLY | NI_O_TRUNC is refused before anything is opened, whatever
   else is asked for (a lock, share flags, NI_O_CREAT with or without NI_O_EXCL, NI_O_APPEND), as .NET
   refuses FileMode.Truncate and FileMode.Create with FileAccess.Read. (POSIX once truncated without a
   lock and, with one, returned 0 and truncated nothing; Windows, with NI_O_CREAT, truncated an existing
   file or created a missing one.) */
static void open_read_only_truncation_refused(void)
{
    char path[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    ni_test_path(missing, "missing");
    static const int32_t extra[] = {
        0, NI_O_SHLOCK, NI_O_EXLOCK, NI_O_SHARE_READ, NI_O_SHARE_READ | NI_O_SHARE_WRITE | NI_O_SHARE_DELETE,
        NI_O_SHLOCK | NI_O_SHARE_WRITE, NI_O_CREAT, NI_O_CREAT | NI_O_EXLOCK, NI_O_CREAT | NI_O_SHLOCK,
        NI_O_CREAT | NI_O_EXCL, NI_O_APPEND,
    };
    int handles = ni_test_count_handles();
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    {
        int32_t flags = NI_O_RDONLY | NI_O_TRUNC | extra[i];
        CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
        int ok = refused(path, flags);
        ok &= CHECK_INT(ni_test_file_size(path), 10);
        ok &= refused(missing, flags);
        ok &= CHECK_INT(ni_test_file_size(missing), -1); /* nothing was created */
        if (!ok)
            printf("  for flags 0x%x\n", (unsigned)flags);
        ni_test_remove(missing); /* what a failing case created */
    }
    CHECK_INT(ni_test_count_handles(), handles);
    /* Control: with write access each combination truncates (NI_O_EXCL aside: the file exists). */
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
    {
        if (extra[i] & NI_O_EXCL)
            continue;
        ni_handle h;
        CHECK_OK(ni_test_write_file(path, "0123456789", 10, 0644));
        if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_TRUNC | extra[i], 0644, &h)))
            CHECK_OK(ni_close(h));
        if (!CHECK_INT(ni_test_file_size(path), 0))
            printf("  for flags 0x%x\n", (unsigned)(NI_O_RDWR | NI_O_TRUNC | extra[i]));
    }
}

#ifdef _WIN32
static void open_delete_on_close(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "temporary");
    ni_handle h;
    if (CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT | NI_O_DELETE_ON_CLOSE, 0644, &h)))
    {
        CHECK_INT(ni_test_write(h, "gone soon", 9), 9);
        CHECK(ni_test_exists(path));
        CHECK_OK(ni_close(h));
    }
    CHECK(!ni_test_exists(path));
}

static DWORD attributes(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    DWORD result = wide != NULL ? GetFileAttributesW(wide) : INVALID_FILE_ATTRIBUTES;
    free(wide);
    return result;
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
        CHECK_INT(ni_test_write(h, "x", 1), 1); /* the handle that created it may still write */
        CHECK_OK(ni_close(h));
    }
    CHECK_INT(attributes(writable) & FILE_ATTRIBUTE_READONLY, 0);
    CHECK(attributes(read_only) != INVALID_FILE_ATTRIBUTES && (attributes(read_only) & FILE_ATTRIBUTE_READONLY));
}
#else
static void open_mode_and_umask(void)
{
    char a[NI_TEST_PATH_MAX], b[NI_TEST_PATH_MAX];
    ni_test_path(a, "a");
    ni_test_path(b, "b");
    ni_handle h;
    mode_t saved = umask(027);
    if (CHECK_OK(ni_open(a, NI_O_WRONLY | NI_O_CREAT, 0666, &h)))
        CHECK_OK(ni_close(h));
    umask(0);
    if (CHECK_OK(ni_open(b, NI_O_WRONLY | NI_O_CREAT, 0604, &h)))
        CHECK_OK(ni_close(h));
    umask(saved);
    struct stat st;
    CHECK(stat(a, &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK(stat(b, &st) == 0 && (st.st_mode & 07777) == 0604);
}
#endif

static void open_portable_flags(void)
{
    /* Flags that change how, not whether, the file opens (the share flags where there are none, the
       access hints, NI_O_ASYNC): every one gives a non-inheritable handle. */
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "file");
    CHECK_OK(ni_test_write_file(path, "data", 4, 0644));
    const int32_t accepted[] = { NI_O_SHARE_READ, NI_O_SHARE_WRITE, NI_O_SHARE_DELETE,
                                 NI_O_SHARE_READ | NI_O_SHARE_WRITE | NI_O_SHARE_DELETE, NI_O_ASYNC, NI_O_RANDOM,
                                 NI_O_SEQUENTIAL, NI_O_EXLOCK | NI_O_SHARE_READ, NI_O_SYNC, NI_O_NOFOLLOW, NI_O_NOTDIR };
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
    {
        ni_handle h;
        if (!CHECK_OK(ni_open(path, NI_O_RDWR | accepted[i], 0, &h)))
        {
            printf("  with the flags 0x%x\n", (unsigned)accepted[i]);
            continue;
        }
        CHECK_INT(ni_test_inherit_flag(h), 0);
#ifndef _WIN32
        CHECK_INT(fcntl((int)h, F_GETFL) & O_ASYNC, 0); /* NI_O_ASYNC is not O_ASYNC (SIGIO) */
#endif
        CHECK_OK(ni_close(h));
    }
#ifndef _WIN32
    /* NI_O_DELETE_ON_CLOSE cannot be had on POSIX. */
    char created[NI_TEST_PATH_MAX];
    ni_test_path(created, "created");
    int fds = ni_test_count_handles();
    ni_handle h = 12345;
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_DELETE_ON_CLOSE, 0, &h), ENOTSUP);
    CHECK_RC(ni_open(created, NI_O_RDWR | NI_O_CREAT | NI_O_DELETE_ON_CLOSE, 0644, &h), ENOTSUP);
    CHECK_INT(ni_test_file_size(created), -1); /* refused before anything was created */
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), fds);
#endif
}

static void open_locks(void)
{
    /* NI_O_EXLOCK / NI_O_SHLOCK: flock, or a share mode of nothing / of reading. Either way an exclusive
       holder keeps every other lock out and nothing is truncated under it, shared holders coexist. */
    const int busy = NI_TEST_CODE(EWOULDBLOCK, ERROR_SHARING_VIOLATION);
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "locked");
    CHECK_OK(ni_test_write_file(path, "content", 7, 0644));
    int handles = ni_test_count_handles();
    ni_handle holder, other, h = 12345;
    if (!CHECK_OK(ni_open(path, NI_O_RDONLY | NI_O_EXLOCK, 0, &holder)))
        return;
#ifdef _WIN32
    CHECK_RC(ni_open(path, NI_O_RDONLY, 0, &h), ERROR_SHARING_VIOLATION); /* sharing nothing */
#else
    /* The lock is real: a plain flock from another open file description conflicts. */
    int plain = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(flock(plain, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK);
    close(plain);
#endif
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_EXLOCK, 0, &h), busy);
    CHECK_RC(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &h), busy);
    CHECK_RC(ni_open(path, NI_O_WRONLY | NI_O_TRUNC | NI_O_EXLOCK, 0, &h), busy);
    CHECK_INT(ni_error_kind(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &h)), NI_ERR_WOULDBLOCK);
    CHECK_INT(ni_test_file_size(path), 7); /* not truncated under someone else's lock */
#ifndef _WIN32
    CHECK(ni_test_file_equals(path, "content", 7)); /* (on Windows the holder shares no reading) */
#endif
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles + 1);
    CHECK_OK(ni_close(holder));

    if (CHECK_OK(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &holder)))
    {
        if (CHECK_OK(ni_open(path, NI_O_RDONLY | NI_O_SHLOCK, 0, &other)))
            CHECK_OK(ni_close(other));
        CHECK_RC(ni_open(path, NI_O_RDWR | NI_O_EXLOCK, 0, &h), busy);
#ifdef _WIN32
        CHECK_RC(ni_open(path, NI_O_WRONLY, 0, &h), ERROR_SHARING_VIOLATION); /* sharing reading only */
#endif
        CHECK_OK(ni_close(holder));
    }

    if (CHECK_OK(ni_open(path, NI_O_WRONLY | NI_O_TRUNC | NI_O_EXLOCK, 0, &h)))
        CHECK_OK(ni_close(h));
    CHECK_INT(ni_test_file_size(path), 0); /* with the lock free, truncation happens */
    CHECK_INT(ni_test_count_handles(), handles);
}

#ifdef _WIN32
static void open_sharing(void)
{
    /* The explicit share flags, which POSIX accepts and ignores. */
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "shared");
    CHECK_OK(ni_test_write_file(path, "content", 7, 0644));
    int handles = ni_test_count_handles();
    ni_handle holder, other, h = 12345;

    /* Others may read, not write. */
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
    CHECK_INT(h, 12345);
    CHECK_INT(ni_test_count_handles(), handles);
}
#endif

/* What the file system has reserved for the file, in bytes; -1 if it cannot be told. */
static long long allocated(ni_handle h)
{
#ifdef _WIN32
    FILE_STANDARD_INFO info;
    return GetFileInformationByHandleEx((HANDLE)h, FileStandardInfo, &info, sizeof info) ? info.AllocationSize.QuadPart
                                                                                          : -1;
#else
    struct stat st;
    return fstat((int)h, &st) == 0 ? (long long)st.st_blocks * 512 : -1; /* st_blocks counts 512 B */
#endif
}

static void preallocate(void)
{
    char path[NI_TEST_PATH_MAX];
    ni_test_path(path, "space");
    ni_handle h;
    if (!CHECK_OK(ni_open(path, NI_O_RDWR | NI_O_CREAT, 0644, &h)))
        return;
    const int64_t length = 1 << 20;
    long long before = allocated(h);
    int rc = ni_preallocate(h, length);
    if (rc == NI_TEST_CODE(EOPNOTSUPP, ERROR_CALL_NOT_IMPLEMENTED))
        ni_test_skip(NI_TEST_CODE("the temp file system cannot preallocate",
                                  "SetFileInformationByHandle(FileAllocationInfo) is not implemented (wine)"));
    else if (CHECK_OK(rc))
    {
        CHECK_INT(ni_test_file_size(path), 0);
        CHECK(before >= 0 && allocated(h) - before >= length);
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
    CHECK_RC(ni_preallocate(h, -1), NI_TEST_EINVAL);
    CHECK_RC(ni_preallocate(h, INT64_MIN), NI_TEST_EINVAL);
    CHECK_RC(ni_preallocate(NI_TEST_BAD_HANDLE, 1 << 20), NI_TEST_EBADF);
    CHECK_INT(ni_test_file_size(path), 0);
    CHECK_OK(ni_close(h));
}

NI_TEST_MAIN(
    NI_TEST(open_creates_non_inheritable),
    NI_TEST(open_is_not_inherited),
    NI_TEST_WINDOWS(open_utf8_names),
    NI_TEST(open_long_path),
    NI_TEST(open_errors),
    NI_TEST(open_directory),
    NI_TEST_POSIX(open_nofollow),
    NI_TEST(open_append),
    NI_TEST(open_truncate),
    NI_TEST(open_read_only_truncation_refused),
    NI_TEST_WINDOWS(open_delete_on_close),
    NI_TEST_WINDOWS(open_mode),
    NI_TEST_POSIX(open_mode_and_umask),
    NI_TEST(open_portable_flags),
    NI_TEST(open_locks),
    NI_TEST_WINDOWS(open_sharing),
    NI_TEST(preallocate),
    NI_TEST(preallocate_arguments))
