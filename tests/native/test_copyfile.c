/* ni_copyfile and ni_copyfile_ex: content, destination states, identity, errors, metadata, locks,
   progress and cancellation, and inheritance mid-copy. The Linux engine's own paths (kernel copies,
   sparse files, injected failures, a killed copy) are in test_copyfile_linux.c. */
#include "ni_test.h"

#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#  include <fcntl.h>
#  include <pthread.h>
#  include <stdatomic.h>
#  include <sys/file.h>
#  include <sys/stat.h>
#  include <sys/wait.h>
#  include <time.h>
#endif
#ifdef _WIN32
#  ifndef ERROR_DIRECTORY_NOT_SUPPORTED
#    define ERROR_DIRECTORY_NOT_SUPPORTED 336L /* missing from older MinGW headers */
#  endif
#endif

/* After a copy, neither file may still be open. */
#define CHECK_NOTHING_OPEN(src, dst) CHECK(!ni_test_file_is_open(src) && !ni_test_file_is_open(dst))

/* The engine's chunk (native/src/unix/copyfile.c): one kernel call copies at most that much, and
   reports progress after each. */
#define CHUNK ((size_t)16 << 20)

static void copy_contents(void)
{
    static const size_t sizes[] = { 0, 1, 4096, (1u << 20) + 1, (16u << 20) + 1 };
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    char* data = malloc(sizes[4]);
    if (!CHECK(data != NULL))
        return;
    ni_test_fill(data, sizes[4], 1);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK_OK(ni_test_write_file(src, data, sizes[i], 0644));
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK(ni_test_file_equals(dst, data, sizes[i]));
        CHECK_NOTHING_OPEN(src, dst);
        CHECK_OK(ni_test_remove(dst));
    }
    free(data);
}

static void copy_existing_destination(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    CHECK_OK(ni_test_write_file(c.src, "new", 3, 0644));
    CHECK_OK(ni_test_write_file(c.dst, "old and longer", 14, 0644));
    CHECK_RC(ni_copyfile(c.src, c.dst, 0), NI_TEST_EEXIST);
    CHECK_INT(ni_error_kind(ni_copyfile(c.src, c.dst, 0)), NI_ERR_EXIST);
    CHECK(ni_test_file_equals(c.dst, "old and longer", 14));
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(c.dst, "new", 3)); /* no stale tail of the longer old content */
    /* A much larger one too (a 2 MiB tail that must go). */
    CHECK(ni_test_make_file(c.dst, 2u << 20, 5));
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(c.dst, "new", 3));
    CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
    CHECK_NOTHING_OPEN(c.src, c.dst);
}

#ifndef _WIN32
/* The old destination is replaced, not rewritten: a reader that has it open keeps the old content
   whole (a rewrite in place would show it a mix), and the name gets a new inode. */
static void copy_replaces_atomically(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK(ni_test_make_file(src, 3u << 20, 1));
    CHECK(ni_test_make_file(dst, 2u << 20, 2));
    struct stat before, after;
    CHECK_INT(stat(dst, &before), 0);
    int reader = open(dst, O_RDONLY | O_CLOEXEC);
    CHECK(reader >= 0);
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK_INT(stat(dst, &after), 0);
    CHECK(before.st_ino != after.st_ino);
    CHECK(ni_test_same_content(src, dst));
    char* old = malloc(2u << 20);
    char* seen = malloc(2u << 20);
    if (CHECK(old != NULL && seen != NULL))
    {
        ni_test_fill(old, 2u << 20, 2);
        CHECK_INT(pread(reader, seen, 2u << 20, 0), 2u << 20);
        CHECK(memcmp(old, seen, 2u << 20) == 0);
    }
    free(old);
    free(seen);
    close(reader);
}
#endif

/* A second name of the same file: a hard link (and on POSIX a symlink). */
static int make_link(const char* existing, const char* name, int symbolic)
{
#ifdef _WIN32
    wchar_t *wide_existing = ni_test_wide_path(existing), *wide_name = ni_test_wide_path(name);
    int ok = !symbolic && wide_existing != NULL && wide_name != NULL && CreateHardLinkW(wide_name, wide_existing, NULL);
    free(wide_existing);
    free(wide_name);
    return ok;
#else
    return (symbolic ? symlink(existing, name) : link(existing, name)) == 0;
#endif
}

static void copy_onto_itself(void)
{
    char file[NI_TEST_PATH_MAX], hardlink[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX];
    ni_test_path(file, "file");
    ni_test_path(hardlink, "hardlink");
    CHECK_OK(ni_test_write_file(file, "precious", 8, 0644));
    CHECK(make_link(file, hardlink, 0));
#ifdef _WIN32
    char upper[NI_TEST_PATH_MAX], slashes[NI_TEST_PATH_MAX];
    ni_test_path(upper, "FILE"); /* the same name to a case-insensitive file system */
    ni_test_path(slashes, "file");
    for (char* p = slashes; *p != '\0'; p++)
        if (*p == '\\')
            *p = '/';
    const char* others[] = { file, hardlink, upper, slashes };
#else
    char symlinked[NI_TEST_PATH_MAX];
    ni_test_path(symlinked, "symlink");
    CHECK(make_link(file, symlinked, 1));
    const char* others[] = { file, hardlink, symlinked };
#endif
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    {
        CHECK_RC(ni_copyfile(file, others[i], NI_COPY_OVERWRITE), NI_TEST_EINVAL);
        CHECK_RC(ni_copyfile(others[i], file, NI_COPY_OVERWRITE), NI_TEST_EINVAL);
        /* Without NI_COPY_OVERWRITE the destination exists, which is the answer (as File.Copy's). */
        CHECK_RC(ni_copyfile(file, others[i], 0), NI_TEST_EEXIST);
    }
    CHECK(ni_test_file_equals(file, "precious", 8));
#ifndef _WIN32
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_nlink == 2);
#endif
    ni_test_path(dir, "");
    CHECK_INT(ni_test_count_entries(dir, ".ni-copy-"), 0);
    CHECK_NOTHING_OPEN(file, hardlink);
}

static void copy_directories(void)
{
    /* POSIX says what the system says (EISDIR); Windows what File.Copy says. */
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_make_dir(dir, "dir");
    CHECK_OK(ni_test_write_file(src, "s", 1, 0644));
    int rc = ni_copyfile(dir, dst, 0);
    CHECK_RC(rc, NI_TEST_CODE(EISDIR, ERROR_DIRECTORY_NOT_SUPPORTED));
    CHECK_INT(ni_error_kind(rc), NI_ERR_ISDIR);
    CHECK_RC(ni_copyfile(dir, dst, NI_COPY_OVERWRITE), NI_TEST_CODE(EISDIR, ERROR_DIRECTORY_NOT_SUPPORTED));
    CHECK_RC(ni_copyfile(src, dir, 0), NI_TEST_EEXIST);
    CHECK_RC(ni_copyfile(src, dir, NI_COPY_OVERWRITE), NI_TEST_CODE(EISDIR, ERROR_ACCESS_DENIED));
    CHECK(!ni_test_exists(dst));
    CHECK_INT(ni_test_count_entries(dir, ""), 0); /* still the empty directory */
}

static void copy_errors(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX], orphan[NI_TEST_PATH_MAX];
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_path(missing, "missing");
    ni_test_path(orphan, "missing" NI_TEST_SEPARATOR "dst");
    CHECK_OK(ni_test_write_file(src, "s", 1, 0644));
    int handles = ni_test_count_handles();

    CHECK_RC(ni_copyfile(missing, dst, 0), NI_TEST_ENOENT);
    CHECK_RC(ni_copyfile(src, orphan, 0), NI_TEST_CODE(ENOENT, ERROR_PATH_NOT_FOUND));
    CHECK_RC(ni_copyfile(src, orphan, NI_COPY_OVERWRITE), NI_TEST_CODE(ENOENT, ERROR_PATH_NOT_FOUND));
    CHECK_INT(ni_error_kind(ni_copyfile(src, orphan, 0)), NI_TEST_CODE(NI_ERR_NOENT, NI_ERR_NOTDIR_PATH));
    const int32_t unknown[] = { 0x0004, 0x0100, INT32_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_RC(ni_copyfile(src, dst, unknown[i]), NI_TEST_EINVAL);
    CHECK_RC(ni_copyfile(NULL, dst, 0), NI_TEST_EINVAL);
    CHECK_RC(ni_copyfile(src, NULL, 0), NI_TEST_EINVAL);
    CHECK_RC(ni_copyfile_ex(NULL, dst, 0, ni_test_record, NULL), NI_TEST_EINVAL);
#ifdef _WIN32
    CHECK_RC(ni_copyfile(src, "bad\xff", 0), ERROR_NO_UNICODE_TRANSLATION);
#else
    char slash[NI_TEST_PATH_MAX];
    ni_test_path(slash, "dst/");
    CHECK_RC(ni_copyfile(src, slash, 0), EISDIR);
    CHECK_RC(ni_copyfile(src, "", 0), ENOENT);
#endif

    CHECK(!ni_test_exists(dst));
    ni_test_path(dir, "");
    CHECK_INT(ni_test_count_entries(dir, ".ni-copy-"), 0);
    CHECK_INT(ni_test_count_handles(), handles);
}

static void copy_long_and_utf8_paths(void)
{
    /* Beyond Windows' MAX_PATH (260), in directories of 60 characters each, with names outside ASCII. */
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], dir[NI_TEST_PATH_MAX];
    ni_test_path(src, u8"\u00e4\u00f6\u00fc-\u65e5\u672c-\U0001F600");
    ni_test_make_deep_dir(dir, 5);
    CHECK(snprintf(dst, sizeof dst, "%s%s", dir, u8"k\u00f6pia") < (int)sizeof dst);
    CHECK(strlen(dst) > 260);
    CHECK_OK(ni_test_write_file(src, "unicode", 7, 0644));
    CHECK_OK(ni_copyfile(src, dst, 0));
    CHECK(ni_test_file_equals(dst, "unicode", 7));
    CHECK_RC(ni_copyfile(src, dst, 0), NI_TEST_EEXIST);
    CHECK_RC(ni_copyfile(dst, dst, NI_COPY_OVERWRITE), NI_TEST_EINVAL);
    CHECK_OK(ni_copyfile(dst, src, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(src, "unicode", 7));
}

/* ---- Never a partial destination, no temp left ---- */

static void copy_leaves_no_temp(void)
{
    struct ni_test_copy c;
    char missing[NI_TEST_PATH_MAX];
    ni_test_copy_paths(&c, "d", "src");
    ni_test_path_in(missing, c.dir, "missing");
    CHECK(ni_test_make_file(c.src, 100000, 1));
    CHECK_OK(ni_copyfile(c.src, c.dst, 0));
    CHECK_RC(ni_copyfile(c.src, c.dst, 0), NI_TEST_EEXIST);
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE));
    CHECK_RC(ni_copyfile(missing, c.dst, NI_COPY_OVERWRITE), NI_TEST_ENOENT);
    CHECK(ni_test_same_content(c.src, c.dst));
    CHECK_INT(ni_test_count_entries(c.dir, ".ni-copy-"), 0);
    CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
}

#ifdef _WIN32
/* `path` opened for reading, sharing reading and writing but not deleting: it cannot be renamed over. */
static HANDLE hold_without_delete_sharing(const char* path)
{
    wchar_t* wide = ni_test_wide_path(path);
    HANDLE holder = wide != NULL ? CreateFileW(wide, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                                               OPEN_EXISTING, 0, NULL) : INVALID_HANDLE_VALUE;
    free(wide);
    CHECK(holder != INVALID_HANDLE_VALUE);
    return holder;
}

/* A read-only source gives a read-only temp, which the durable copy makes writable for its flush only; a
   destination open without delete sharing is written in place, and flushed. */
static void copy_durable_windows_paths(const struct ni_test_copy* c)
{
    wchar_t* wide_src = ni_test_wide_path(c->src);
    wchar_t* wide_dst = ni_test_wide_path(c->dst);
    CHECK(wide_src != NULL && SetFileAttributesW(wide_src, FILE_ATTRIBUTE_READONLY));
    CHECK_OK(ni_test_write_file(c->dst, "old", 3, 0644));
    CHECK_OK(ni_copyfile(c->src, c->dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    CHECK(ni_test_same_content(c->src, c->dst));
    CHECK(wide_dst != NULL && (GetFileAttributesW(wide_dst) & FILE_ATTRIBUTE_READONLY)); /* kept, as CopyFileExW keeps it */
    if (wide_src != NULL)
        SetFileAttributesW(wide_src, FILE_ATTRIBUTE_NORMAL);
    if (wide_dst != NULL)
        SetFileAttributesW(wide_dst, FILE_ATTRIBUTE_NORMAL);
    free(wide_src);
    free(wide_dst);

    CHECK_OK(ni_test_write_file(c->dst, "old", 3, 0644));
    HANDLE holder = hold_without_delete_sharing(c->dst);
    CHECK_OK(ni_copyfile(c->src, c->dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    if (holder != INVALID_HANDLE_VALUE)
        CloseHandle(holder);
    CHECK(ni_test_same_content(c->src, c->dst));
}
#endif

/* NI_COPY_DURABLE (POSIX: the file flushed before its name changes, the directory after; Windows:
   FlushFileBuffers on the temp, MoveFileExW with MOVEFILE_WRITE_THROUGH; in place: the destination
   flushed): the same files as without it, new and replaced, nothing left open or beside them. What
   reaches the disk, and in which order, is for test_copyfile_linux.c and the power-cut test; wine
   flushes with fsync and ignores the write-through flag. */
static void copy_durable(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    CHECK(ni_test_make_file(c.src, 300000, 3));
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_DURABLE));
    CHECK(ni_test_same_content(c.src, c.dst));
    CHECK_RC(ni_copyfile(c.src, c.dst, NI_COPY_DURABLE), NI_TEST_EEXIST);
    CHECK_OK(ni_test_write_file(c.dst, "old", 3, 0644));
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    CHECK(ni_test_same_content(c.src, c.dst));
    CHECK_NOTHING_OPEN(c.src, c.dst);
#ifdef _WIN32
    copy_durable_windows_paths(&c);
#endif
    CHECK_INT(ni_test_count_entries(c.dir, ".ni-copy-"), 0);
    CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
}

#ifdef _WIN32
/* A read-only destination is refused (as CopyFileExW refuses it) and stays as it was. */
static void copy_over_read_only_destination(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    CHECK(ni_test_make_file(c.src, 5000, 1));
    CHECK_OK(ni_test_write_file(c.dst, "read-only", 9, 0644));
    wchar_t* wide = ni_test_wide_path(c.dst);
    CHECK(wide != NULL && SetFileAttributesW(wide, FILE_ATTRIBUTE_READONLY));
    CHECK_RC(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE), ERROR_ACCESS_DENIED);
    CHECK(ni_test_file_equals(c.dst, "read-only", 9));
    CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
    if (wide != NULL)
        SetFileAttributesW(wide, FILE_ATTRIBUTE_NORMAL);
    free(wide);
}

/* A destination another process has open for reading and writing (but not for deleting) cannot be
   replaced by a rename: as CopyFileExW would, the copy is written into it. */
static void copy_onto_open_destination(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    CHECK(ni_test_make_file(c.src, 300000, 2));
    CHECK_OK(ni_test_write_file(c.dst, "old", 3, 0644));
    HANDLE holder = hold_without_delete_sharing(c.dst);
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE));
    if (holder != INVALID_HANDLE_VALUE)
        CloseHandle(holder);
    CHECK(ni_test_same_content(c.src, c.dst));
    CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
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
#else
static void copy_mode(void)
{
    /* As File.Copy: the source's rwx bits whatever the umask, never setuid/setgid/sticky, whether the
       destination is created or overwritten (an old destination's own mode does not survive). */
    static const struct { int source, mask, expected; } cases[] = {
        { 0640, 022, 0640 }, { 0755, 022, 0755 }, { 0400, 022, 0400 }, { 0400, 077, 0400 }, { 0600, 077, 0600 },
        { 0666, 022, 0666 }, { 0777, 077, 0777 }, { 04755, 022, 0755 }, { 0000, 022, 0000 },
    };
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        ni_test_remove(src);
        CHECK_OK(ni_test_write_file(src, "m", 1, cases[i].source));
        mode_t saved = umask((mode_t)cases[i].mask);
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK_INT(ni_test_file_mode(dst), cases[i].expected);
        CHECK_OK(chmod(dst, 0602));
        CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
        umask(saved);
        CHECK_INT(ni_test_file_mode(dst), cases[i].expected);
        CHECK(ni_test_file_equals(dst, "m", 1));
        ni_test_remove(dst);
    }
}

static void copy_mtime(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "t", 1, 0644));
    struct timespec times[2] = { { 1000000000, 0 }, { 978307200, 123456789 } }; /* 2001-01-01 */
    CHECK_OK(utimensat(AT_FDCWD, src, times, 0));
    for (int overwrite = 0; overwrite < 2; overwrite++)
    {
        CHECK_OK(ni_copyfile(src, dst, overwrite ? NI_COPY_OVERWRITE : 0));
        struct stat st;
        CHECK_OK(stat(dst, &st));
#ifdef __APPLE__
        const struct timespec mtime = st.st_mtimespec;
#else
        const struct timespec mtime = st.st_mtim;
#endif
        CHECK_INT(mtime.tv_sec, 978307200);
        CHECK_INT(mtime.tv_nsec, 123456789);
    }
}

/* ---- Symlinks ---- */

/* With NI_COPY_OVERWRITE a destination that is a dangling symlink gets its target created, as
   File.Copy does; without it the existing link is EEXIST. */
static void copy_onto_dangling_symlink(void)
{
    char src[NI_TEST_PATH_MAX], link_path[NI_TEST_PATH_MAX], target[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(link_path, "link");
    ni_test_path(target, "target");
    CHECK_OK(ni_test_write_file(src, "data", 4, 0644));
    CHECK_INT(symlink(target, link_path), 0);
    CHECK_RC(ni_copyfile(src, link_path, 0), EEXIST);
    CHECK(!ni_test_exists(target));
    CHECK_OK(ni_copyfile(src, link_path, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(target, "data", 4));
    struct stat st;
    CHECK_INT(lstat(link_path, &st), 0);
    CHECK(S_ISLNK(st.st_mode));
}

/* A destination that is a symlink (a relative chain of two, into another directory) to an existing
   file: the final file is replaced, the links stay links; a link loop is ELOOP. */
static void copy_onto_symlink_chain(void)
{
    char dir[NI_TEST_PATH_MAX], other[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], first[NI_TEST_PATH_MAX];
    char second[NI_TEST_PATH_MAX], target[NI_TEST_PATH_MAX], loop[NI_TEST_PATH_MAX];
    ni_test_make_dir(dir, "d");
    ni_test_make_dir(other, "other");
    ni_test_path_in(src, dir, "src");
    ni_test_path_in(first, dir, "first");
    ni_test_path_in(second, other, "second");
    ni_test_path_in(target, other, "target");
    ni_test_path_in(loop, dir, "loop");
    CHECK_OK(ni_test_write_file(src, "new content", 11, 0640));
    CHECK_OK(ni_test_write_file(target, "old", 3, 0644));
    CHECK_INT(symlink("../other/second", first), 0);
    CHECK_INT(symlink("target", second), 0);
    CHECK_INT(symlink("loop", loop), 0);

    CHECK_RC(ni_copyfile(src, first, 0), EEXIST);
    CHECK(ni_test_file_equals(target, "old", 3));
    CHECK_OK(ni_copyfile(src, first, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(target, "new content", 11));
    CHECK_INT(ni_test_file_mode(target), 0640);
    struct stat st;
    CHECK(lstat(first, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(second, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_INT(ni_test_count_entries(dir, ".ni-copy-") + ni_test_count_entries(other, ".ni-copy-"), 0);

    CHECK_RC(ni_copyfile(src, loop, 0), EEXIST);
    CHECK_RC(ni_copyfile(src, loop, NI_COPY_OVERWRITE), ELOOP);
}

/* ---- Locks ---- */

/* As File.Copy: a shared lock on the source, an exclusive one on the destination; a conflicting
   holder makes the copy fail with EWOULDBLOCK before anything is written. */
static void copy_respects_locks(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK_OK(ni_test_write_file(src, "new", 3, 0644));
    CHECK_OK(ni_test_write_file(dst, "old content", 11, 0644));

    int holder = open(src, O_RDONLY | O_CLOEXEC);
    CHECK_INT(flock(holder, LOCK_EX), 0);
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), EWOULDBLOCK);
    CHECK(ni_test_file_equals(dst, "old content", 11));
    CHECK_INT(flock(holder, LOCK_UN), 0);
    CHECK_INT(flock(holder, LOCK_SH), 0); /* readers may share the source */
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    close(holder);

    CHECK_OK(ni_test_write_file(dst, "old content", 11, 0644));
    holder = open(dst, O_RDONLY | O_CLOEXEC);
    CHECK_INT(flock(holder, LOCK_SH), 0);
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), EWOULDBLOCK);
    CHECK(ni_test_file_equals(dst, "old content", 11));
    close(holder);

    /* The copy's own locks are gone once it returns: a second copy and an exclusive lock both work. */
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    holder = open(dst, O_RDONLY | O_CLOEXEC);
    CHECK_INT(flock(holder, LOCK_EX | LOCK_NB), 0);
    close(holder);
    CHECK_NOTHING_OPEN(src, dst);
}

/* The exclusive lock is held on the old destination for the whole copy, until it has been replaced. */
struct lock_probe
{
    const char* dst;
    int conflicted; /* an exclusive lock attempt on the destination failed mid-copy */
};

static int32_t probe_lock(int64_t copied, void* state)
{
    struct lock_probe* p = state;
    if (copied > 0 && !p->conflicted)
    {
        int fd = open(p->dst, O_RDONLY | O_CLOEXEC);
        p->conflicted = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
        if (fd >= 0)
            close(fd);
    }
    return 0;
}

static void copy_holds_destination_lock(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK(ni_test_make_file(src, 1u << 20, 1));
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    struct lock_probe p = { dst, 0 };
    CHECK_OK(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, probe_lock, &p));
    CHECK(p.conflicted);
    CHECK(ni_test_same_content(src, dst));
}

/* A child forked mid-copy (as a concurrent Process.Start forks before its exec) shares the copy's open files,
   and with them every flock set on them, then or later: the copy releases its locks (LOCK_UN) before it
   closes, its temp's too, which became the destination. So the new destination is free once the copy has
   returned, while that child still lives: it can be locked, and copied over again. */
struct forking_probe
{
    pid_t child;
    int gate[2]; /* the child waits for the end of the write side */
};

static int32_t fork_mid_copy(int64_t copied, void* state)
{
    struct forking_probe* f = state;
    if (copied > 0 && f->child == 0)
    {
        fflush(stdout);
        fflush(stderr);
        f->child = fork();
        if (f->child == 0)
        {
            char byte;
            close(f->gate[1]);
            (void)!read(f->gate[0], &byte, 1);
            _exit(0);
        }
    }
    return 0;
}

static void copy_leaves_no_lock_in_a_child(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    CHECK(ni_test_make_file(c.src, 1u << 20, 4));
    for (int durable = 0; durable < 2; durable++)
    {
        CHECK_OK(ni_test_write_file(c.dst, "old", 3, 0644));
        struct forking_probe f = { 0, { -1, -1 } };
        if (!CHECK_INT(pipe(f.gate), 0))
            return;
        CHECK_OK(ni_copyfile_ex(c.src, c.dst, NI_COPY_OVERWRITE | (durable ? NI_COPY_DURABLE : 0), fork_mid_copy, &f));
        CHECK(f.child > 0);
        int fd = open(c.dst, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
        if (fd >= 0)
            close(fd);
        CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE));
        CHECK(ni_test_same_content(c.src, c.dst));
        close(f.gate[1]);
        close(f.gate[0]);
        int status = 0;
        CHECK(f.child > 0 && waitpid(f.child, &status, 0) == f.child && WIFEXITED(status));
    }
    CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
}

/* ---- FIFOs ---- */

struct fifo_job
{
    const char* path;
    char* data;  /* writing: what to write; reading: what was read (malloc'd) */
    size_t size;
    int ok;
};

static void* write_fifo(void* arg)
{
    struct fifo_job* job = arg;
    FILE* f = fopen(job->path, "wbe");
    job->ok = f != NULL && fwrite(job->data, 1, job->size, f) == job->size;
    if (f != NULL && fclose(f) != 0)
        job->ok = 0;
    return NULL;
}

static void* read_fifo(void* arg)
{
    struct fifo_job* job = arg;
    FILE* f = fopen(job->path, "rbe");
    job->data = f != NULL ? ni_test_read_stream(f, &job->size) : NULL;
    if (f != NULL)
        fclose(f);
    return NULL;
}

/* A FIFO destination is written to, as File.Copy writes it, never replaced by a file. */
static void copy_onto_fifo(void)
{
    char src[NI_TEST_PATH_MAX], fifo[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(fifo, "fifo");
    CHECK(ni_test_make_file(src, 2u << 20, 4));
    CHECK_INT(mkfifo(fifo, 0644), 0);
    struct fifo_job r = { fifo, NULL, 0, 0 };
    pthread_t thread;
    if (!CHECK_INT(pthread_create(&thread, NULL, read_fifo, &r), 0))
        return;
    CHECK_OK(ni_copyfile(src, fifo, NI_COPY_OVERWRITE));
    pthread_join(thread, NULL);
    char* expected = malloc(2u << 20);
    if (CHECK(expected != NULL && r.data != NULL))
    {
        ni_test_fill(expected, 2u << 20, 4);
        CHECK(r.size == 2u << 20 && memcmp(r.data, expected, r.size) == 0);
    }
    free(expected);
    free(r.data);
    struct stat st;
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
}
#endif

/* ---- Progress and cancellation ---- */

static void copy_progress(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    const size_t sizes[] = { 0, 1, (3u << 20) + 5, CHUNK, 3 * CHUNK + 5 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        struct ni_test_recorder* r = ni_test_new_recorder();
        if (r == NULL)
            return;
        CHECK(ni_test_make_file(c.src, sizes[i], 40 + i));
        CHECK_OK(ni_copyfile_ex(c.src, c.dst, NI_COPY_OVERWRITE, ni_test_record, r));
        CHECK(ni_test_progress_is_sound(r, (int64_t)sizes[i]));
        CHECK(ni_test_same_content(c.src, c.dst));
        CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
#ifndef _WIN32
        if (sizes[i] >= CHUNK)
            CHECK(r->count >= (int)(sizes[i] / CHUNK)); /* every chunk is reported */
#endif
        free(r);
    }
#ifndef _WIN32
    /* A stream whose size is not known up front: the last report is what came through. */
    char fifo[NI_TEST_PATH_MAX];
    ni_test_path(fifo, "fifo");
    CHECK_INT(mkfifo(fifo, 0644), 0);
    struct fifo_job w = { fifo, malloc(3u << 20), 3u << 20, 0 };
    pthread_t thread;
    struct ni_test_recorder* r = ni_test_new_recorder();
    if (w.data != NULL)
        ni_test_fill(w.data, w.size, 3);
    if (r != NULL && CHECK(w.data != NULL) && CHECK_INT(pthread_create(&thread, NULL, write_fifo, &w), 0))
    {
        CHECK_OK(ni_copyfile_ex(fifo, c.dst, NI_COPY_OVERWRITE, ni_test_record, r));
        pthread_join(thread, NULL);
        CHECK(w.ok);
        CHECK(ni_test_progress_is_sound(r, 3u << 20));
    }
    free(w.data);
    free(r);
#endif
}

/* A callback that returns nonzero: ECANCELED / ERROR_CANCELLED, the destination as it was (absent, or its
   old content), no temp file left; at the first call (0), mid-copy, and at the last call (all copied). */
static void copy_cancel(void)
{
    struct ni_test_copy c;
    ni_test_copy_paths(&c, "d", "src");
    const int64_t size = 4 * (int64_t)CHUNK + 3;
    CHECK(ni_test_make_file(c.src, (size_t)size, 11));
    const int64_t cancel_at[] = { 0, 1, 2 * (int64_t)CHUNK, size };
    for (size_t i = 0; i < sizeof cancel_at / sizeof cancel_at[0]; i++)
    {
        for (int existing = 0; existing < 2; existing++)
        {
            if (existing)
                CHECK_OK(ni_test_write_file(c.dst, "old content", 11, 0644));
            struct ni_test_recorder* r = ni_test_new_recorder();
            if (r == NULL)
                return;
            r->cancel_at = cancel_at[i];
            int32_t rc = ni_copyfile_ex(c.src, c.dst, existing ? NI_COPY_OVERWRITE : 0, ni_test_record, r);
            CHECK_RC(rc, NI_TEST_CODE(ECANCELED, ERROR_CANCELLED));
            CHECK_INT(ni_error_kind(rc), NI_ERR_CANCELED);
            if (existing)
                CHECK(ni_test_file_equals(c.dst, "old content", 11));
            else
                CHECK(!ni_test_exists(c.dst));
            CHECK_INT(ni_test_count_entries(c.dir, ""), 1 + existing);
            /* It stopped at the call that cancelled: nothing after it. */
            CHECK(r->count >= 1 && r->values[r->count - 1] >= cancel_at[i]);
            CHECK(r->count < 2 || r->values[r->count - 2] < cancel_at[i]);
            ni_test_remove(c.dst);
            free(r);
        }
    }
    CHECK_NOTHING_OPEN(c.src, c.dst);
}

/* ---- Inheritance mid-copy ---- */

/*
 * Mid-copy, every handle of this process on a file in `dir` is the copy's (the source, the temp file, an
 * existing destination) or, on POSIX, the test's own FIFO writer: a child started now must hold none of
 * them, and holds the inheritable control. 1 if it looked, 0 if fewer than `expected` were open (not
 * mid-copy after all).
 */
static int check_mid_copy(const char* dir, ni_handle control, int expected)
{
    ni_handle handles[64];
    int count = ni_test_handles_in(dir, control, handles, 63);
    if (count < expected || count > 63)
        return 0;
    handles[count++] = control;
    char* output = ni_test_probe(handles, (size_t)count);
    if (output == NULL)
        return 1;
    CHECK(ni_test_probe_holds(output, control)); /* not blind */
    for (int i = 0; i + 1 < count; i++)
        if (!CHECK(!ni_test_probe_holds(output, handles[i])))
        {
            char description[NI_TEST_DESCRIPTION_MAX];
            ni_test_describe_handle(handles[i], description, sizeof description);
            fprintf(stderr, "  the child holds %s\n", description);
        }
    free(output);
    return 1;
}

#ifdef _WIN32
/* Inside the progress callback, CopyFileExW has the source and the temp file open. */
static void probe_mid_copy(struct ni_test_recorder* r, int64_t copied)
{
    ni_handle* control = r->hook_state;
    char dir[NI_TEST_PATH_MAX];
    ni_test_path(dir, "mid-copy");
    if (copied > 0 && *control != NI_INVALID_HANDLE && check_mid_copy(dir, *control, 2))
        *control = NI_INVALID_HANDLE; /* probed: once is enough */
}

static void copy_is_not_inherited_mid_copy(void)
{
    struct ni_test_copy c;
    char control_path[NI_TEST_PATH_MAX];
    ni_test_copy_paths(&c, "mid-copy", "src");
    ni_test_path(control_path, "control");
    CHECK(ni_test_make_file(c.src, 20u << 20, 5));
    ni_handle control = ni_test_plain_file(control_path), probing = control;
    if (!CHECK(control != NI_INVALID_HANDLE))
        return;
    struct ni_test_recorder* r = ni_test_new_recorder();
    if (r != NULL)
    {
        r->hook = probe_mid_copy;
        r->hook_state = &probing;
        CHECK_OK(ni_copyfile_ex(c.src, c.dst, 0, ni_test_record, r));
        /* Wine's CopyFileExW never calls its progress routine ("LPPROGRESS_ROUTINE is not supported"): the
           callback only gets the library's own first (0) and last (the size) calls, outside CopyFileExW. */
        if (probing != NI_INVALID_HANDLE)
            ni_test_skip(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != NULL
                             ? "wine's CopyFileExW calls no progress routine: no moment mid-copy to start a child in"
                             : "CopyFileExW reported no progress while it had the files open");
        CHECK(ni_test_same_content(c.src, c.dst));
    }
    free(r);
    CHECK_OK(ni_close(control));
    CHECK_NOTHING_OPEN(c.src, c.dst);
}
#else
struct copy_job
{
    const char *src, *dst;
    int32_t flags;
    int rc;
    atomic_int done;
};

static void* run_copy(void* arg)
{
    struct copy_job* job = arg;
    job->rc = ni_copyfile(job->src, job->dst, job->flags);
    atomic_store(&job->done, 1);
    return NULL;
}

/* A FIFO source keeps the copy waiting with everything open (the source, the temp file, an existing
   destination), so a child can be started right in the middle of it. */
static void copy_is_not_inherited_mid_copy(void)
{
    struct ni_test_copy c;
    char control_path[NI_TEST_PATH_MAX];
    ni_test_copy_paths(&c, "d", "fifo");
    ni_test_path(control_path, "control");
    if (!CHECK_INT(mkfifo(c.src, 0644), 0))
        return;
    ni_handle control = ni_test_plain_file(control_path);
    if (!CHECK(control != NI_INVALID_HANDLE))
        return;
    for (int overwrite = 0; overwrite < 2; overwrite++)
    {
        if (overwrite)
            CHECK_OK(ni_test_write_file(c.dst, "old", 3, 0644));
        struct copy_job job = { c.src, c.dst, overwrite ? NI_COPY_OVERWRITE : 0, -1, 0 };
        pthread_t thread;
        if (!CHECK_INT(pthread_create(&thread, NULL, run_copy, &job), 0))
            break;
        int writer = open(c.src, O_WRONLY | O_CLOEXEC); /* returns once the copy opened its end */
        CHECK(writer >= 0);
        ssize_t written = write(writer, "hello", 5); /* EPIPE (SIGPIPE is ignored) if it gave up */
        /* Our writer, the source and the temp file; overwriting, the (locked) old destination too. */
        const int expected = 3 + overwrite;
        const struct timespec pause = { 0, 1000 * 1000 };
        int probed = 0;
        for (int i = 0; i < 5000 && !atomic_load(&job.done) && !probed; i++)
            if (!(probed = check_mid_copy(c.dir, control, expected)))
                nanosleep(&pause, NULL);
        CHECK(probed);
        close(writer);
        pthread_join(thread, NULL);
        CHECK_OK(job.rc);
        CHECK_INT(written, 5);
        CHECK(ni_test_file_equals(c.dst, "hello", 5));
        CHECK_NOTHING_OPEN(c.src, c.dst);
        CHECK_INT(ni_test_count_entries(c.dir, ".ni-copy-"), 0);
        ni_test_remove(c.dst);
    }
    CHECK_OK(ni_close(control));
}
#endif

NI_TEST_MAIN(
    NI_TEST(copy_contents),
    NI_TEST(copy_existing_destination),
    NI_TEST_POSIX(copy_replaces_atomically),
    NI_TEST(copy_onto_itself),
    NI_TEST(copy_directories),
    NI_TEST(copy_errors),
    NI_TEST(copy_long_and_utf8_paths),
    NI_TEST(copy_leaves_no_temp),
    NI_TEST(copy_durable),
    NI_TEST_WINDOWS(copy_over_read_only_destination),
    NI_TEST_WINDOWS(copy_onto_open_destination),
    NI_TEST_WINDOWS(copy_metadata),
    NI_TEST_POSIX(copy_mode),
    NI_TEST_POSIX(copy_mtime),
    NI_TEST_POSIX(copy_onto_dangling_symlink),
    NI_TEST_POSIX(copy_onto_symlink_chain),
    NI_TEST_POSIX(copy_respects_locks),
    NI_TEST_POSIX(copy_holds_destination_lock),
    NI_TEST_POSIX(copy_leaves_no_lock_in_a_child),
    NI_TEST_POSIX(copy_onto_fifo),
    NI_TEST(copy_progress),
    NI_TEST(copy_cancel),
    NI_TEST(copy_is_not_inherited_mid_copy))
