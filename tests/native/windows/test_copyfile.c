/* ni_copyfile and ni_copyfile_ex on Windows: CopyFileExW into a temp file, MoveFileExW into place. */
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

/* Entries of `dir` whose name starts with `prefix` ("" for all). */
static int count_entries(const char* dir, const char* prefix)
{
    char pattern[NI_TEST_PATH_MAX];
    snprintf(pattern, sizeof pattern, "%s\\%s*", dir, prefix);
    wchar_t* wide = ni_test_wide_path(pattern);
    WIN32_FIND_DATAW entry;
    HANDLE find = wide != NULL ? FindFirstFileW(wide, &entry) : INVALID_HANDLE_VALUE;
    free(wide);
    int count = 0;
    for (BOOL more = find != INVALID_HANDLE_VALUE; more; more = FindNextFileW(find, &entry))
        count += wcscmp(entry.cFileName, L".") != 0 && wcscmp(entry.cFileName, L"..") != 0;
    if (find != INVALID_HANDLE_VALUE)
        FindClose(find);
    return count;
}

/* A directory of its own in the test dir, so that its entries can be counted. */
static void sub_dir(char out[NI_TEST_PATH_MAX], const char* name)
{
    ni_test_path(out, name);
    CHECK(make_dir(out));
}

static void path_in(char out[NI_TEST_PATH_MAX], const char* dir, const char* name)
{
    CHECK(snprintf(out, NI_TEST_PATH_MAX, "%s\\%s", dir, name) < NI_TEST_PATH_MAX);
}

/* A file of `size` bytes that are not all alike. */
static int make_file(const char* path, size_t size, unsigned seed)
{
    char* data = malloc(size + 1);
    if (data == NULL)
        return 0;
    for (size_t i = 0; i < size; i++)
        data[i] = (char)((i * 2654435761u + seed) >> 13);
    int ok = ni_test_write_file(path, data, size, 0644) == 0;
    free(data);
    return ok;
}

static int same_content(const char* a, const char* b)
{
    size_t na, nb;
    char* da = ni_test_read_file(a, &na);
    char* db = ni_test_read_file(b, &nb);
    int same = da != NULL && db != NULL && na == nb && memcmp(da, db, na) == 0;
    free(da);
    free(db);
    return same;
}

static void copy_contents(void)
{
    static const size_t sizes[] = { 0, 1, (1u << 20) + 1, (16u << 20) + 1 };
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    char* data = malloc(sizes[3]);
    if (!CHECK(data != NULL))
        return;
    uint64_t state = 0x9e3779b97f4a7c15u; /* xorshift: reproducible bytes that are not all alike */
    for (size_t i = 0; i < sizes[3]; i++)
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
    const int32_t unknown[] = { 0x0004, 0x0100, INT32_MIN };
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

/* ---- Progress and cancellation ---- */

struct recorder
{
    int64_t values[4096];
    int count;
    int64_t cancel_at; /* cancel at the first call with copied >= this; -1: never */
    void (*hook)(struct recorder*, int64_t);
    void* hook_state;
};

static int32_t record(int64_t copied, void* state)
{
    struct recorder* r = state;
    if (r->count < (int)(sizeof r->values / sizeof r->values[0]))
        r->values[r->count] = copied;
    r->count++;
    if (r->hook != NULL)
        r->hook(r, copied);
    return r->cancel_at >= 0 && copied >= r->cancel_at;
}

static struct recorder* new_recorder(void)
{
    struct recorder* r = calloc(1, sizeof *r);
    if (r != NULL)
        r->cancel_at = -1;
    return r;
}

/* 0 first, strictly growing, the size last. */
static int progress_is_sound(const struct recorder* r, int64_t size)
{
    if (!CHECK(r->count >= 1 && r->count <= (int)(sizeof r->values / sizeof r->values[0])))
        return 0;
    int ok = CHECK_INT(r->values[0], 0) & CHECK_INT(r->values[r->count - 1], size);
    for (int i = 1; i < r->count; i++)
        if (r->values[i] <= r->values[i - 1])
        {
            ni_test_fail(__FILE__, __LINE__, "progress went from %lld to %lld", (long long)r->values[i - 1],
                         (long long)r->values[i]);
            return 0;
        }
    return ok;
}

static void copy_progress(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    sub_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    static const size_t sizes[] = { 0, 1, (3u << 20) + 5, 20u << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        struct recorder* r = new_recorder();
        if (!CHECK(r != NULL))
            return;
        CHECK(make_file(src, sizes[i], (unsigned)i));
        CHECK_OK(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, record, r));
        CHECK(progress_is_sound(r, (int64_t)sizes[i]));
        CHECK(same_content(src, dst));
        CHECK_INT(count_entries(dir, ""), 2);
        free(r);
    }
}

/* A nonzero return: ERROR_CANCELLED, the destination as it was, no temp file left; at the first call,
   mid-copy (where CopyFileExW reports mid-copy) and at the last one. */
static void copy_cancel(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    sub_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    const int64_t size = 20 << 20;
    CHECK(make_file(src, (size_t)size, 3));
    const int64_t cancel_at[] = { 0, 1, size };
    for (size_t i = 0; i < sizeof cancel_at / sizeof cancel_at[0]; i++)
        for (int existing = 0; existing < 2; existing++)
        {
            if (existing)
                CHECK_OK(ni_test_write_file(dst, "old content", 11, 0644));
            struct recorder* r = new_recorder();
            if (!CHECK(r != NULL))
                return;
            r->cancel_at = cancel_at[i];
            int32_t rc = ni_copyfile_ex(src, dst, existing ? NI_COPY_OVERWRITE : 0, record, r);
            CHECK_RC(rc, ERROR_CANCELLED);
            CHECK_INT(ni_error_kind(rc), NI_ERR_CANCELED);
            if (existing)
                CHECK(ni_test_file_equals(dst, "old content", 11));
            else
                CHECK(!exists(dst));
            CHECK_INT(count_entries(dir, ""), 1 + existing);
            CHECK(r->count >= 1 && r->values[r->count - 1] >= cancel_at[i]);
            wchar_t* wide = ni_test_wide_path(dst);
            if (wide != NULL)
                DeleteFileW(wide);
            free(wide);
            free(r);
        }
}

/* ---- Never a partial destination, no temp left ---- */

static void copy_leaves_no_temp(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], missing[NI_TEST_PATH_MAX];
    sub_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    path_in(missing, dir, "missing");
    CHECK(make_file(src, 100000, 1));
    CHECK_OK(ni_copyfile(src, dst, 0));
    CHECK_RC(ni_copyfile(src, dst, 0), ERROR_FILE_EXISTS);
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK_RC(ni_copyfile(missing, dst, NI_COPY_OVERWRITE), ERROR_FILE_NOT_FOUND);
    CHECK(same_content(src, dst));
    CHECK_INT(count_entries(dir, ".ni-copy-"), 0);
    CHECK_INT(count_entries(dir, ""), 2);
}

/* A read-only destination is refused (as CopyFileExW refuses it) and stays as it was. */
static void copy_over_read_only_destination(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    sub_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    CHECK(make_file(src, 5000, 1));
    CHECK_OK(ni_test_write_file(dst, "read-only", 9, 0644));
    wchar_t* wide = ni_test_wide_path(dst);
    CHECK(wide != NULL && SetFileAttributesW(wide, FILE_ATTRIBUTE_READONLY));
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), ERROR_ACCESS_DENIED);
    CHECK(ni_test_file_equals(dst, "read-only", 9));
    CHECK_INT(count_entries(dir, ""), 2);
    if (wide != NULL)
        SetFileAttributesW(wide, FILE_ATTRIBUTE_NORMAL);
    free(wide);
}

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

/* A destination another process has open for reading and writing (but not for deleting) cannot be
   replaced by a rename: as CopyFileExW would, the copy is written into it. */
static void copy_onto_open_destination(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    sub_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    CHECK(make_file(src, 300000, 2));
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    HANDLE holder = hold_without_delete_sharing(dst);
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    if (holder != INVALID_HANDLE_VALUE)
        CloseHandle(holder);
    CHECK(same_content(src, dst));
    CHECK_INT(count_entries(dir, ""), 2);
}

/* NI_COPY_DURABLE (FlushFileBuffers on the temp, MoveFileExW with MOVEFILE_WRITE_THROUGH; in place: the
   destination flushed): the same files as without it on every path, new, replaced, a read-only source (whose
   temp is read-only too, made writable for the flush only), a destination open elsewhere (written in place),
   and nothing left beside them. What reaches the disk is for the power-cut test on Linux; wine flushes with
   fsync and ignores the write-through flag. */
static void copy_durable(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    sub_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    CHECK(make_file(src, 300000, 3));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_DURABLE));
    CHECK(same_content(src, dst));
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_DURABLE), ERROR_FILE_EXISTS);
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    CHECK(same_content(src, dst));
    CHECK(nobody_has_open(src) && nobody_has_open(dst));

    wchar_t* wide_src = ni_test_wide_path(src);
    wchar_t* wide_dst = ni_test_wide_path(dst);
    CHECK(wide_src != NULL && SetFileAttributesW(wide_src, FILE_ATTRIBUTE_READONLY));
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    CHECK(same_content(src, dst));
    CHECK(wide_dst != NULL && (GetFileAttributesW(wide_dst) & FILE_ATTRIBUTE_READONLY)); /* kept, as CopyFileExW keeps it */
    if (wide_src != NULL)
        SetFileAttributesW(wide_src, FILE_ATTRIBUTE_NORMAL);
    if (wide_dst != NULL)
        SetFileAttributesW(wide_dst, FILE_ATTRIBUTE_NORMAL);

    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    HANDLE holder = hold_without_delete_sharing(dst);
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    if (holder != INVALID_HANDLE_VALUE)
        CloseHandle(holder);
    CHECK(same_content(src, dst));
    free(wide_src);
    free(wide_dst);
    CHECK_INT(count_entries(dir, ".ni-copy-"), 0);
    CHECK_INT(count_entries(dir, ""), 2);
}

/* ---- Inheritance mid-copy ---- */

struct mid_copy
{
    const char* dir;
    ni_handle control;
    int probed;
};

/* Inside the progress callback, CopyFileExW has the source and the temp file open: every handle of
   this process on a file of the test's directory (but the control) is the copy's. A probe started
   now must hold none of them, and the inheritable control. */
static void probe_mid_copy(struct recorder* r, int64_t copied)
{
    struct mid_copy* m = r->hook_state;
    if (copied == 0 || m->probed)
        return;
    ni_handle handles[64];
    size_t count = 0;
    char control[NI_TEST_PATH_MAX * 3 + 64];
    ni_test_describe_handle(m->control, control, sizeof control);
    const char* name = strrchr(m->dir, '\\');
    for (ULONG_PTR value = 4; value < 0x4000 && count < 63; value += 4)
    {
        char description[NI_TEST_PATH_MAX * 3 + 64];
        ni_test_describe_handle((ni_handle)value, description, sizeof description);
        if ((ni_handle)value != m->control && strncmp(description, "disk ", 5) == 0 && name != NULL &&
            strstr(description, name) != NULL && strcmp(description, control) != 0)
            handles[count++] = (ni_handle)value;
    }
    if (count < 2)
        return; /* not mid-copy: the callback's last call, after CopyFileExW closed the files */
    m->probed = 1;
    handles[count++] = m->control;
    char* output = ni_test_probe(handles, count);
    if (output == NULL)
        return;
    CHECK(ni_test_probe_holds(output, m->control));
    for (size_t i = 0; i + 1 < count; i++)
        if (!CHECK(!ni_test_probe_holds(output, handles[i])))
        {
            char description[NI_TEST_PATH_MAX * 3 + 64];
            ni_test_describe_handle(handles[i], description, sizeof description);
            fprintf(stderr, "  the child holds %s\n", description);
        }
    free(output);
}

static void copy_is_not_inherited_mid_copy(void)
{
    char dir[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], control_path[NI_TEST_PATH_MAX];
    sub_dir(dir, "mid-copy");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    ni_test_path(control_path, "control");
    CHECK(make_file(src, 20u << 20, 5));
    wchar_t* wide = ni_test_wide_path(control_path);
    SECURITY_ATTRIBUTES inheritable = { sizeof inheritable, NULL, TRUE };
    HANDLE control = wide != NULL ? CreateFileW(wide, GENERIC_WRITE, FILE_SHARE_READ, &inheritable, CREATE_ALWAYS, 0, NULL)
                                  : INVALID_HANDLE_VALUE;
    free(wide);
    if (!CHECK(control != INVALID_HANDLE_VALUE))
        return;
    struct mid_copy m = { dir, (ni_handle)control, 0 };
    struct recorder* r = new_recorder();
    if (CHECK(r != NULL))
    {
        r->hook = probe_mid_copy;
        r->hook_state = &m;
        CHECK_OK(ni_copyfile_ex(src, dst, 0, record, r));
        /* Wine's CopyFileExW never calls its progress routine ("LPPROGRESS_ROUTINE is not supported"): the
           callback only gets the library's own first (0) and last (the size) calls, outside CopyFileExW. */
        if (!m.probed)
            ni_test_skip(GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version") != NULL
                             ? "wine's CopyFileExW calls no progress routine: no moment mid-copy to start a child in"
                             : "CopyFileExW reported no progress while it had the files open");
        CHECK(same_content(src, dst));
    }
    free(r);
    CloseHandle(control);
    CHECK(nobody_has_open(src) && nobody_has_open(dst));
}

NI_TEST_MAIN(
    NI_TEST(copy_contents),
    NI_TEST(copy_existing_destination),
    NI_TEST(copy_onto_itself),
    NI_TEST(copy_directories),
    NI_TEST(copy_errors),
    NI_TEST(copy_long_and_utf8_paths),
    NI_TEST(copy_metadata),
    NI_TEST(copy_progress),
    NI_TEST(copy_cancel),
    NI_TEST(copy_leaves_no_temp),
    NI_TEST(copy_over_read_only_destination),
    NI_TEST(copy_onto_open_destination),
    NI_TEST(copy_durable),
    NI_TEST(copy_is_not_inherited_mid_copy))
