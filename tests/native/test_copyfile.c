/* ni_copyfile and ni_copyfile_ex on Linux: content, fast paths, sparse files, metadata, identity and
   symlinks, locks, the no-partial-destination guarantee under injected failures, a killed process and
   a cancellation, progress, and inheritance mid-copy. */
#include "ni_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The engine's sizes (native/src/unix/copyfile.c): one kernel call copies at most a chunk, the
   read/write loop reads a buffer at a time. Files of exactly that size and one more cross the edges. */
#define CHUNK ((size_t)16 << 20)
#define BUFFER ((size_t)1 << 20)

static int exists(const char* path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static int mode_of(const char* path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* After a copy, neither file may still be open in this process. */
#define CHECK_NOTHING_OPEN(src, dst) CHECK(ni_test_find_fd(src) < 0 && ni_test_find_fd(dst) < 0)

/* Reproducible bytes that are not all alike (xorshift), the same for the same seed and offset. */
static void fill(char* data, size_t size, uint64_t seed)
{
    uint64_t state = seed | 1;
    for (size_t i = 0; i < size; i++)
    {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17;
        data[i] = (char)state;
    }
}

/* Writes `size` bytes of fill(seed) at `offset` of `path` (created 0644 if missing). */
static int write_at(const char* path, int64_t offset, size_t size, uint64_t seed)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    char* data = malloc(size > 0 ? size : 1);
    int ok = fd >= 0 && data != NULL;
    if (ok)
    {
        fill(data, size, seed);
        ok = pwrite(fd, data, size, (off_t)offset) == (ssize_t)size;
    }
    free(data);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A file of `size` bytes of fill(seed), replacing whatever was there. */
static int make_file(const char* path, size_t size, uint64_t seed)
{
    unlink(path);
    return write_at(path, 0, size, seed);
}

/* Whether two files have the same length and bytes. */
static int same_content(const char* a, const char* b)
{
    int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
    char* ba = malloc(BUFFER);
    char* bb = malloc(BUFFER);
    int same = fa >= 0 && fb >= 0 && ba != NULL && bb != NULL;
    while (same)
    {
        ssize_t na = read(fa, ba, BUFFER), nb = read(fb, bb, BUFFER);
        same = na == nb && na >= 0 && memcmp(ba, bb, (size_t)(na > 0 ? na : 0)) == 0;
        if (na <= 0)
            break;
    }
    free(ba);
    free(bb);
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    return same;
}

/* The number of entries of `dir` whose name starts with `prefix` ("" for all). */
static int count_entries(const char* dir, const char* prefix)
{
    DIR* d = opendir(dir);
    if (d == NULL)
        return -1;
    int count = 0;
    struct dirent* entry;
    while ((entry = readdir(d)) != NULL)
        if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0 &&
            strncmp(entry->d_name, prefix, strlen(prefix)) == 0)
            count++;
    closedir(d);
    return count;
}

static int count_temps(const char* dir)
{
    return count_entries(dir, ".ni-copy-");
}

/* A directory of its own in the test dir, so that its entries can be counted. */
static void make_dir(char out[PATH_MAX], const char* name)
{
    ni_test_path(out, name);
    CHECK_INT(mkdir(out, 0755), 0);
}

static void path_in(char out[PATH_MAX], const char* dir, const char* name)
{
    CHECK(snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

/* A copy's temp file as /proc shows it for `pid`: "<dir>/#<inode> (deleted)" for an O_TMPFILE,
   "<dir>/.ni-copy-<hex>.tmp" for a named one. The descriptor, or -1. */
static int find_temp_fd(pid_t pid, const char* dir, char target[PATH_MAX])
{
    char fd_dir[64];
    snprintf(fd_dir, sizeof fd_dir, "/proc/%d/fd", (int)pid);
    DIR* d = opendir(fd_dir);
    if (d == NULL)
        return -1;
    int found = -1;
    size_t length = strlen(dir);
    struct dirent* entry;
    while (found < 0 && (entry = readdir(d)) != NULL)
    {
        if (entry->d_name[0] == '.')
            continue;
        ssize_t n = readlinkat(dirfd(d), entry->d_name, target, PATH_MAX - 1);
        if (n < 0)
            continue;
        target[n] = '\0';
        if (strncmp(target, dir, length) == 0 && target[length] == '/' &&
            (target[length + 1] == '#' || strncmp(target + length + 1, ".ni-copy-", 9) == 0))
            found = atoi(entry->d_name);
    }
    closedir(d);
    return found;
}

/* ---- Progress recording ---- */

struct recorder
{
    int64_t values[8192];
    int count;
    int64_t cancel_at;        /* cancel at the first call with copied >= this; -1: never */
    const char* intruder;     /* at the last call (copied == size), create this file first */
    int64_t size;
    int pause_at_data;        /* write to notify_fd, then wait forever, at the first call with data */
    int notify_fd;
};

static int32_t record(int64_t copied, void* state)
{
    struct recorder* r = state;
    if (r->count < (int)(sizeof r->values / sizeof r->values[0]))
        r->values[r->count] = copied;
    r->count++;
    if (r->intruder != NULL && copied == r->size)
    {
        int fd = open(r->intruder, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0)
        {
            (void)!write(fd, "intruder", 8);
            close(fd);
        }
    }
    if (r->pause_at_data && copied > 0)
    {
        (void)!write(r->notify_fd, "x", 1);
        for (;;)
            pause();
    }
    return r->cancel_at >= 0 && copied >= r->cancel_at;
}

static struct recorder* new_recorder(void)
{
    struct recorder* r = calloc(1, sizeof *r);
    if (r != NULL)
        r->cancel_at = -1;
    return r;
}

/* The values start at 0, grow strictly and end at `size`. */
static int progress_is_sound(const struct recorder* r, int64_t size)
{
    if (!CHECK(r->count >= 1 && r->count <= (int)(sizeof r->values / sizeof r->values[0])))
        return 0;
    int ok = CHECK_INT(r->values[0], 0) & CHECK_INT(r->values[r->count - 1], size);
    for (int i = 1; i < r->count; i++)
        if (r->values[i] <= r->values[i - 1])
        {
            ni_test_fail(__FILE__, __LINE__, "progress went from %lld to %lld at call %d",
                         (long long)r->values[i - 1], (long long)r->values[i], i);
            return 0;
        }
    return ok;
}

/* ---- Fault injection (ni_test_run_injected): what the copy engine falls back from ---- */

#ifdef O_TMPFILE
#  define TMPFILE_BIT ((uint32_t)(O_TMPFILE & ~O_DIRECTORY))
#else
#  define TMPFILE_BIT 0u
#endif
#ifdef SYS_open
#  define FAULT_NO_TMPFILE { SYS_openat, 2, TMPFILE_BIT, EOPNOTSUPP }, { SYS_open, 1, TMPFILE_BIT, EOPNOTSUPP }
#  define FAULT_NO_HARDLINKS { SYS_linkat, -1, 0, EPERM }, { SYS_link, -1, 0, EPERM }
#else
#  define FAULT_NO_TMPFILE { SYS_openat, 2, TMPFILE_BIT, EOPNOTSUPP }
#  define FAULT_NO_HARDLINKS { SYS_linkat, -1, 0, EPERM }
#endif

/* ---- Content ---- */

static void copy_contents(void)
{
    static const size_t sizes[] = { 0, 1, 4096, (1u << 20) + 1 };
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    char* data = malloc(sizes[3]);
    if (!CHECK(data != NULL))
        return;
    fill(data, sizes[3], 1);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK_OK(ni_test_write_file(src, data, sizes[i], 0644));
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK(ni_test_file_equals(dst, data, sizes[i]));
        CHECK_NOTHING_OPEN(src, dst);
        CHECK_INT(unlink(dst), 0);
    }
    free(data);
}

/* Files of exactly one kernel chunk and one byte more, through copy_file_range (same file system)
   and sendfile (tmpfs to disk, where copy_file_range says EXDEV). */
static void copy_chunk_edges(void)
{
    char src[PATH_MAX], dst[PATH_MAX], shm[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-%d", (int)getpid());
    const size_t sizes[] = { CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK(make_file(src, sizes[i], 7 + i));
        CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
        CHECK(same_content(src, dst));
        if (make_file(shm, sizes[i], 9 + i))
        {
            CHECK_OK(ni_copyfile(shm, dst, NI_COPY_OVERWRITE));
            CHECK(same_content(shm, dst));
        }
    }
    unlink(shm);
}

struct fifo_writer
{
    const char* path;
    size_t size;
    int ok;
};

static void* write_fifo(void* arg)
{
    struct fifo_writer* w = arg;
    int fd = open(w->path, O_WRONLY | O_CLOEXEC);
    char* data = malloc(w->size + 1);
    w->ok = fd >= 0 && data != NULL;
    if (w->ok)
    {
        fill(data, w->size, 3);
        size_t done = 0;
        while (done < w->size)
        {
            ssize_t n = write(fd, data + done, w->size - done);
            if (n <= 0)
            {
                w->ok = 0;
                break;
            }
            done += (size_t)n;
        }
    }
    free(data);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* A FIFO source: neither copy_file_range nor sendfile takes a pipe, so this is the read/write loop,
   at exactly its buffer size and one byte more (and a short read at every pipe-buffer edge). */
static void copy_read_write_edges(void)
{
    char fifo[PATH_MAX], dst[PATH_MAX];
    ni_test_path(fifo, "fifo");
    ni_test_path(dst, "dst");
    if (!CHECK_INT(mkfifo(fifo, 0644), 0))
        return;
    const size_t sizes[] = { BUFFER, BUFFER + 1, 3 * BUFFER + 17 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        struct fifo_writer w = { fifo, sizes[i], 0 };
        pthread_t thread;
        if (!CHECK_INT(pthread_create(&thread, NULL, write_fifo, &w), 0))
            return;
        CHECK_OK(ni_copyfile(fifo, dst, NI_COPY_OVERWRITE));
        pthread_join(thread, NULL);
        CHECK(w.ok);
        char* expected = malloc(sizes[i]);
        if (CHECK(expected != NULL))
        {
            fill(expected, sizes[i], 3);
            CHECK(ni_test_file_equals(dst, expected, sizes[i]));
        }
        free(expected);
    }
}

static void copy_proc_and_sys_files(void)
{
    /* procfs reports st_size 0 for files that do have content. */
    char dst[PATH_MAX];
    ni_test_path(dst, "status");
    if (CHECK_OK(ni_copyfile("/proc/self/status", dst, 0)))
    {
        char* text = ni_test_read_file(dst, NULL);
        CHECK(text != NULL && strncmp(text, "Name:\t", 6) == 0);
        free(text);
    }
    ni_test_path(dst, "cmdline");
    size_t size;
    char* expected = ni_test_read_file("/proc/self/cmdline", &size);
    if (CHECK(expected != NULL && size > 0) && CHECK_OK(ni_copyfile("/proc/self/cmdline", dst, 0)))
        CHECK(ni_test_file_equals(dst, expected, size));
    free(expected);

    /* sysfs says 4096 for a few bytes of content. */
    static const char* const sysfs[] = { "/sys/kernel/mm/transparent_hugepage/enabled",
                                         "/sys/devices/system/cpu/online", "/sys/kernel/uevent_seqnum" };
    const char* chosen = NULL;
    for (size_t i = 0; i < sizeof sysfs / sizeof sysfs[0] && chosen == NULL; i++)
        if (access(sysfs[i], R_OK) == 0)
            chosen = sysfs[i];
    if (chosen == NULL)
    {
        ni_test_skip("no readable sysfs file here");
        return;
    }
    ni_test_path(dst, "sysfs");
    expected = ni_test_read_file(chosen, &size);
    if (CHECK(expected != NULL && size > 0) && CHECK_OK(ni_copyfile(chosen, dst, 0)))
    {
        size_t copied;
        char* actual = ni_test_read_file(dst, &copied);
        /* uevent_seqnum may move on between the two reads; the others do not. */
        CHECK(actual != NULL && copied > 0 && copied < 4096 && actual[copied - 1] == '\n');
        if (strstr(chosen, "seqnum") == NULL)
            CHECK(ni_test_file_equals(dst, expected, size));
        free(actual);
    }
    free(expected);
}

/* ---- Sparse files ---- */

static long long blocks_of(const char* path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_blocks : -1;
}

/* Bytes of fill(seed) at each of `offsets` match in `path`. */
static int holds_data_at(const char* path, const int64_t* offsets, size_t count, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char* expected = malloc(size);
    char* actual = malloc(size);
    int ok = fd >= 0 && expected != NULL && actual != NULL;
    for (size_t i = 0; ok && i < count; i++)
    {
        fill(expected, size, 100 + i);
        ok = pread(fd, actual, size, (off_t)offsets[i]) == (ssize_t)size && memcmp(actual, expected, size) == 0;
        if (!ok)
            ni_test_fail(__FILE__, __LINE__, "%s: wrong data at offset %lld", path, (long long)offsets[i]);
    }
    /* And a hole between reads as zeros. */
    if (ok && count > 1 && offsets[1] - offsets[0] > (int64_t)(2 * size))
    {
        ok = pread(fd, actual, size, (off_t)(offsets[0] + (int64_t)size + 4096)) == (ssize_t)size;
        for (size_t j = 0; ok && j < size; j++)
            ok = actual[j] == 0;
        CHECK(ok);
    }
    free(expected);
    free(actual);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A 5 GiB file with a few data islands, one of them across the 4 GiB line: the size, the data and the
   holes come through, and the copy allocates about what the source does. */
static void copy_sparse_over_4gib(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    const int64_t size = (int64_t)5 << 30;
    const int64_t offsets[] = { 0, (int64_t)1 << 30, ((int64_t)4 << 30) - 6000, size - 8192 };
    const size_t island = 8192;
    int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!CHECK(fd >= 0) || !CHECK_INT(ftruncate(fd, (off_t)size), 0))
    {
        if (fd >= 0)
            close(fd);
        return;
    }
    close(fd);
    for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
        CHECK(write_at(src, offsets[i], island, 100 + i));
    if (blocks_of(src) * 512 >= size)
    {
        ni_test_skip("the file system here does not keep holes");
        return;
    }

    struct recorder* r = new_recorder();
    if (!CHECK(r != NULL))
        return;
    CHECK_OK(ni_copyfile_ex(src, dst, 0, record, r));
    struct stat st;
    CHECK_INT(stat(dst, &st), 0);
    CHECK_INT(st.st_size, size);
    CHECK(holds_data_at(dst, offsets, sizeof offsets / sizeof offsets[0], island));
    CHECK(blocks_of(dst) <= blocks_of(src) + 64); /* 32 KiB of slack for the file system's metadata */
    CHECK(blocks_of(dst) < 4096);
    CHECK(progress_is_sound(r, size));
    CHECK_NOTHING_OPEN(src, dst);
    free(r);
}

/* Several holes (one at each end and three between), on disk and from tmpfs to disk. */
static void copy_sparse_with_holes(void)
{
    char src[PATH_MAX], dst[PATH_MAX], shm[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-sparse-%d", (int)getpid());
    const int64_t size = (int64_t)64 << 20;
    const int64_t offsets[] = { (int64_t)1 << 20, (int64_t)10 << 20, ((int64_t)30 << 20) + 4096, (int64_t)50 << 20 };
    const char* sources[] = { src, shm };
    for (size_t s = 0; s < 2; s++)
    {
        unlink(sources[s]);
        int fd = open(sources[s], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (!CHECK(fd >= 0))
            continue;
        CHECK_INT(ftruncate(fd, (off_t)size), 0);
        close(fd);
        for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
            CHECK(write_at(sources[s], offsets[i], (size_t)1 << 20, 100 + i));
        CHECK_OK(ni_copyfile(sources[s], dst, NI_COPY_OVERWRITE));
        CHECK(same_content(sources[s], dst));
        long long expected_blocks = 4 * ((1 << 20) / 512);
        CHECK(blocks_of(sources[s]) < 2 * expected_blocks);
        CHECK(blocks_of(dst) <= blocks_of(sources[s]) + 64);
        CHECK(blocks_of(dst) >= expected_blocks);
    }
    unlink(shm);
}

/* tmpfs to the test dir's file system: a different device, copy_file_range EXDEV, sendfile. */
static void copy_across_file_systems(void)
{
    char dst[PATH_MAX], shm[PATH_MAX];
    ni_test_path(dst, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-cross-%d", (int)getpid());
    struct statfs fs;
    struct stat a, b;
    char dir[PATH_MAX];
    ni_test_path(dir, "");
    if (statfs("/dev/shm", &fs) != 0 || fs.f_type != 0x01021994 /* TMPFS_MAGIC */ || stat("/dev/shm", &a) != 0 ||
        stat(dir, &b) != 0 || a.st_dev == b.st_dev)
    {
        ni_test_skip("/dev/shm is not a tmpfs on another device than the test dir");
        return;
    }
    const size_t sizes[] = { 0, 1, 3 * BUFFER + 5 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK(make_file(shm, sizes[i], 20 + i));
        CHECK_INT(chmod(shm, 0640), 0);
        CHECK_OK(ni_copyfile(shm, dst, NI_COPY_OVERWRITE));
        CHECK(same_content(shm, dst));
        CHECK_INT(mode_of(dst), 0640);
        /* And back: disk to tmpfs. */
        CHECK_OK(ni_copyfile(dst, shm, NI_COPY_OVERWRITE));
        CHECK(same_content(shm, dst));
    }
    unlink(shm);
}

/* Makes and loop-mounts an XFS image in the test dir at `mnt` ("xfs"): 1, or 0 after saying why it cannot
   (no mkfs.xfs, not root, no loop devices). The caller unmounts it. */
static int mount_xfs(char mnt[PATH_MAX])
{
    char image[PATH_MAX], command[4 * PATH_MAX];
    ni_test_path(image, "xfs.img");
    make_dir(mnt, "xfs");
    if (access("/usr/sbin/mkfs.xfs", X_OK) != 0 && access("/sbin/mkfs.xfs", X_OK) != 0)
    {
        ni_test_skip("no mkfs.xfs (xfsprogs) here: no XFS to copy on");
        return 0;
    }
    int fd = open(image, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fd >= 0 && ftruncate(fd, 400 << 20) == 0);
    if (fd >= 0)
        close(fd);
    snprintf(command, sizeof command, "PATH=/usr/sbin:/sbin:$PATH mkfs.xfs -q -f '%s' >/dev/null 2>&1 && "
             "mount -o loop '%s' '%s' >/dev/null 2>&1", image, image, mnt);
    if (system(command) != 0)
    {
        ni_test_skip("cannot make and loop-mount an XFS image here (needs root and loop devices)");
        return 0;
    }
    return 1;
}

/* A reflink-capable file system (XFS on a loop device): the copy shares the source's blocks (FICLONE) instead of
   writing new ones. */
static void copy_reflink(void)
{
    char mnt[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    if (!mount_xfs(mnt))
        return;
    path_in(src, mnt, "src");
    path_in(dst, mnt, "dst");
    CHECK(make_file(src, 64u << 20, 12));
    sync();
    struct statfs before, after;
    CHECK_INT(statfs(mnt, &before), 0);
    CHECK_OK(ni_copyfile(src, dst, 0));
    sync();
    CHECK_INT(statfs(mnt, &after), 0);
    CHECK(same_content(src, dst));
    /* 64 MiB copied, and not even 1 MiB of it allocated: the blocks are shared. */
    long long used = ((long long)before.f_bfree - (long long)after.f_bfree) * (long long)before.f_bsize;
    if (!CHECK(used < (1 << 20)))
        printf("  the copy allocated %lld bytes\n", used);
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

/* ---- Destination states ---- */

static void copy_existing_destination(void)
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    make_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    CHECK_OK(ni_test_write_file(src, "new", 3, 0644));
    CHECK_OK(ni_test_write_file(dst, "old and longer", 14, 0644));
    CHECK_RC(ni_copyfile(src, dst, 0), EEXIST);
    CHECK(ni_test_file_equals(dst, "old and longer", 14));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(dst, "new", 3)); /* no stale tail of the longer old content */
    /* A much larger one too (a 2 MiB tail that must go). */
    CHECK(make_file(dst, 2u << 20, 5));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(dst, "new", 3));
    CHECK_INT(count_entries(dir, ""), 2);
    CHECK_NOTHING_OPEN(src, dst);
}

/* The old destination is replaced, not rewritten: a reader that has it open keeps the old content
   whole (a rewrite in place would show it a mix), and the name gets a new inode. */
static void copy_replaces_atomically(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK(make_file(src, 3u << 20, 1));
    CHECK(make_file(dst, 2u << 20, 2));
    struct stat before, after;
    CHECK_INT(stat(dst, &before), 0);
    int reader = open(dst, O_RDONLY | O_CLOEXEC);
    CHECK(reader >= 0);
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK_INT(stat(dst, &after), 0);
    CHECK(before.st_ino != after.st_ino);
    CHECK(same_content(src, dst));
    char* old = malloc(2u << 20);
    char* seen = malloc(2u << 20);
    if (CHECK(old != NULL && seen != NULL))
    {
        fill(old, 2u << 20, 2);
        CHECK_INT(pread(reader, seen, 2u << 20, 0), 2u << 20);
        CHECK(memcmp(old, seen, 2u << 20) == 0);
    }
    free(old);
    free(seen);
    close(reader);
}

static void copy_onto_itself(void)
{
    char file[PATH_MAX], hardlink[PATH_MAX], symlinked[PATH_MAX];
    ni_test_path(file, "file");
    ni_test_path(hardlink, "hardlink");
    ni_test_path(symlinked, "symlink");
    CHECK_OK(ni_test_write_file(file, "precious", 8, 0644));
    CHECK_INT(link(file, hardlink), 0);
    CHECK_INT(symlink(file, symlinked), 0);

    CHECK_RC(ni_copyfile(file, file, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(file, hardlink, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(hardlink, file, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(symlinked, file, NI_COPY_OVERWRITE), EINVAL);
    CHECK_RC(ni_copyfile(file, symlinked, NI_COPY_OVERWRITE), EINVAL);
    /* Without NI_COPY_OVERWRITE the destination exists, which is the answer (as File.Copy's). */
    CHECK_RC(ni_copyfile(file, hardlink, 0), EEXIST);
    CHECK_RC(ni_copyfile(file, file, 0), EEXIST);
    CHECK(ni_test_file_equals(file, "precious", 8));
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_nlink == 2);
    char dir[PATH_MAX];
    ni_test_path(dir, "");
    CHECK_INT(count_temps(dir), 0);
    CHECK_NOTHING_OPEN(file, hardlink);
}

static void copy_errors(void)
{
    char src[PATH_MAX], dst[PATH_MAX], dir[PATH_MAX], missing[PATH_MAX], orphan[PATH_MAX], slash[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_path(dir, "dir");
    ni_test_path(missing, "missing");
    ni_test_path(orphan, "missing/dst");
    ni_test_path(slash, "dst/");
    CHECK_OK(ni_test_write_file(src, "s", 1, 0644));
    CHECK_INT(mkdir(dir, 0755), 0);
    int fds = ni_test_count_handles();

    CHECK_RC(ni_copyfile(missing, dst, 0), ENOENT);
    CHECK_RC(ni_copyfile(dir, dst, 0), EISDIR);
    CHECK_RC(ni_copyfile(dir, dst, NI_COPY_OVERWRITE), EISDIR);
    CHECK_RC(ni_copyfile(src, dir, 0), EEXIST);
    CHECK_RC(ni_copyfile(src, dir, NI_COPY_OVERWRITE), EISDIR);
    CHECK_RC(ni_copyfile(src, orphan, 0), ENOENT);
    CHECK_RC(ni_copyfile(src, orphan, NI_COPY_OVERWRITE), ENOENT);
    CHECK_RC(ni_copyfile(src, slash, 0), EISDIR);
    CHECK_RC(ni_copyfile(src, "", 0), ENOENT);
    const int32_t unknown[] = { 0x0004, 0x0100, INT32_MIN };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK_RC(ni_copyfile(src, dst, unknown[i]), EINVAL);
    CHECK_RC(ni_copyfile(NULL, dst, 0), EINVAL);
    CHECK_RC(ni_copyfile(src, NULL, 0), EINVAL);
    CHECK_RC(ni_copyfile_ex(NULL, dst, 0, record, NULL), EINVAL);

    CHECK(!exists(dst));
    ni_test_path(dir, "");
    CHECK_INT(count_temps(dir), 0);
    CHECK_INT(ni_test_count_handles(), fds);
}

static void copy_failure_removes_destination(void)
{
    /* /proc/self/mem opens and stats as a regular file, but reading offset 0 fails (EIO): the copy
       fails with its temp file already written to. */
    char dir[PATH_MAX], dst[PATH_MAX];
    make_dir(dir, "d");
    path_in(dst, dir, "dst");
    CHECK(ni_copyfile("/proc/self/mem", dst, 0) != 0);
    CHECK(!exists(dst));
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    CHECK(ni_copyfile("/proc/self/mem", dst, NI_COPY_OVERWRITE) != 0);
    CHECK(ni_test_file_equals(dst, "old", 3));
    CHECK_INT(count_entries(dir, ""), 1);
}

static void copy_mode(void)
{
    /* As File.Copy: the source's rwx bits whatever the umask, never setuid/setgid/sticky, whether the
       destination is created or overwritten (an old destination's own mode does not survive). */
    static const struct { int source, mask, expected; } cases[] = {
        { 0640, 022, 0640 },
        { 0755, 022, 0755 },
        { 0400, 022, 0400 },
        { 0400, 077, 0400 },
        { 0600, 077, 0600 },
        { 0666, 022, 0666 },
        { 0777, 077, 0777 },
        { 04755, 022, 0755 },
        { 0000, 022, 0000 },
    };
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        unlink(src);
        CHECK_OK(ni_test_write_file(src, "m", 1, cases[i].source));
        mode_t saved = umask((mode_t)cases[i].mask);
        CHECK_OK(ni_copyfile(src, dst, 0));
        CHECK_INT(mode_of(dst), cases[i].expected);
        CHECK_OK(chmod(dst, 0602));
        CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
        umask(saved);
        CHECK_INT(mode_of(dst), cases[i].expected);
        CHECK(ni_test_file_equals(dst, "m", 1));
        unlink(dst);
    }
}

static void copy_mtime(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
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
        CHECK_INT(st.st_mtim.tv_sec, 978307200);
        CHECK_INT(st.st_mtim.tv_nsec, 123456789);
    }
}

/* ---- Symlinks ---- */

/* With NI_COPY_OVERWRITE a destination that is a dangling symlink gets its target created, as
   File.Copy does; without it the existing link is EEXIST. */
static void copy_onto_dangling_symlink(void)
{
    char src[PATH_MAX], link_path[PATH_MAX], target[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(link_path, "link");
    ni_test_path(target, "target");
    CHECK_OK(ni_test_write_file(src, "data", 4, 0644));
    CHECK_INT(symlink(target, link_path), 0);
    CHECK_RC(ni_copyfile(src, link_path, 0), EEXIST);
    CHECK(!exists(target));
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
    char dir[PATH_MAX], other[PATH_MAX], src[PATH_MAX], first[PATH_MAX], second[PATH_MAX], target[PATH_MAX];
    char loop[PATH_MAX];
    make_dir(dir, "d");
    make_dir(other, "other");
    path_in(src, dir, "src");
    path_in(first, dir, "first");
    path_in(second, other, "second");
    path_in(target, other, "target");
    path_in(loop, dir, "loop");
    CHECK_OK(ni_test_write_file(src, "new content", 11, 0640));
    CHECK_OK(ni_test_write_file(target, "old", 3, 0644));
    CHECK_INT(symlink("../other/second", first), 0);
    CHECK_INT(symlink("target", second), 0);
    CHECK_INT(symlink("loop", loop), 0);

    CHECK_RC(ni_copyfile(src, first, 0), EEXIST);
    CHECK(ni_test_file_equals(target, "old", 3));
    CHECK_OK(ni_copyfile(src, first, NI_COPY_OVERWRITE));
    CHECK(ni_test_file_equals(target, "new content", 11));
    CHECK_INT(mode_of(target), 0640);
    struct stat st;
    CHECK(lstat(first, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(lstat(second, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_INT(count_temps(dir) + count_temps(other), 0);

    CHECK_RC(ni_copyfile(src, loop, 0), EEXIST);
    CHECK_RC(ni_copyfile(src, loop, NI_COPY_OVERWRITE), ELOOP);
}

/* ---- Locks ---- */

/* As File.Copy: a shared lock on the source, an exclusive one on the destination; a conflicting
   holder makes the copy fail with EWOULDBLOCK before anything is written. */
static void copy_respects_locks(void)
{
    char src[PATH_MAX], dst[PATH_MAX];
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
    char src[PATH_MAX], dst[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    CHECK(make_file(src, 1u << 20, 1));
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    struct lock_probe p = { dst, 0 };
    CHECK_OK(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, probe_lock, &p));
    CHECK(p.conflicted);
    CHECK(same_content(src, dst));
}

/* ---- Progress and cancellation ---- */

static void copy_progress(void)
{
    char src[PATH_MAX], dst[PATH_MAX], fifo[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    ni_test_path(fifo, "fifo");
    const size_t sizes[] = { 0, 1, CHUNK, 3 * CHUNK + 5 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        struct recorder* r = new_recorder();
        if (!CHECK(r != NULL))
            return;
        CHECK(make_file(src, sizes[i], 40 + i));
        CHECK_OK(ni_copyfile_ex(src, dst, NI_COPY_OVERWRITE, record, r));
        CHECK(progress_is_sound(r, (int64_t)sizes[i]));
        CHECK(same_content(src, dst));
        if (sizes[i] >= CHUNK)
            CHECK(r->count >= (int)(sizes[i] / CHUNK)); /* every chunk is reported */
        free(r);
    }
    /* A stream whose size is not known up front: the last report is what came through. */
    CHECK_INT(mkfifo(fifo, 0644), 0);
    struct fifo_writer w = { fifo, 3 * BUFFER, 0 };
    pthread_t thread;
    struct recorder* r = new_recorder();
    if (CHECK(r != NULL) && CHECK_INT(pthread_create(&thread, NULL, write_fifo, &w), 0))
    {
        CHECK_OK(ni_copyfile_ex(fifo, dst, NI_COPY_OVERWRITE, record, r));
        pthread_join(thread, NULL);
        CHECK(progress_is_sound(r, 3 * BUFFER));
    }
    free(r);
}

/* A callback that returns nonzero: ECANCELED, the destination as it was (absent, or its old content),
   no temp file left; at the first call (0), mid-copy, and at the last call (all copied). */
static void copy_cancel(void)
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    make_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    const int64_t size = 4 * (int64_t)CHUNK + 3;
    CHECK(make_file(src, (size_t)size, 11));
    const int64_t cancel_at[] = { 0, 1, 2 * (int64_t)CHUNK, size };
    for (size_t i = 0; i < sizeof cancel_at / sizeof cancel_at[0]; i++)
    {
        for (int existing = 0; existing < 2; existing++)
        {
            if (existing)
                CHECK_OK(ni_test_write_file(dst, "old content", 11, 0644));
            struct recorder* r = new_recorder();
            if (!CHECK(r != NULL))
                return;
            r->cancel_at = cancel_at[i];
            int32_t rc = ni_copyfile_ex(src, dst, existing ? NI_COPY_OVERWRITE : 0, record, r);
            CHECK_RC(rc, ECANCELED);
            CHECK_INT(ni_error_kind(rc), NI_ERR_CANCELED);
            if (existing)
                CHECK(ni_test_file_equals(dst, "old content", 11));
            else
                CHECK(!exists(dst));
            CHECK_INT(count_entries(dir, ""), 1 + existing);
            /* It stopped at the call that cancelled: nothing after it. */
            CHECK(r->count >= 1 && r->values[r->count - 1] >= cancel_at[i]);
            CHECK(r->count < 2 || r->values[r->count - 2] < cancel_at[i]);
            unlink(dst);
            free(r);
        }
    }
    CHECK_NOTHING_OPEN(src, dst);
}

/* ---- Injected failures: nothing partial, nothing left ---- */

/* EFBIG from RLIMIT_FSIZE (with SIGXFSZ ignored) half way through: a new destination does not appear,
   an old one keeps its content, and no temp file is left; through every fast path's failure. */
static void copy_efbig(void)
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], shm[PATH_MAX];
    make_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-efbig-%d", (int)getpid());
    CHECK(make_file(src, 4u << 20, 1));
    CHECK(make_file(shm, 4u << 20, 1));
    struct rlimit saved, limited;
    CHECK_INT(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limited = saved;
    limited.rlim_cur = 1u << 20;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    if (CHECK_INT(setrlimit(RLIMIT_FSIZE, &limited), 0))
    {
        const char* sources[] = { src, shm }; /* copy_file_range, then sendfile */
        for (size_t s = 0; s < 2; s++)
        {
            unlink(dst);
            CHECK_RC(ni_copyfile(sources[s], dst, 0), EFBIG);
            CHECK(!exists(dst));
            CHECK_INT(count_entries(dir, ""), 1);
            CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
            CHECK_RC(ni_copyfile(sources[s], dst, NI_COPY_OVERWRITE), EFBIG);
            CHECK(ni_test_file_equals(dst, "old", 3));
            CHECK_RC(ni_copyfile(sources[s], dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE), EFBIG);
            CHECK(ni_test_file_equals(dst, "old", 3));
            CHECK_INT(count_entries(dir, ""), 2);
        }
        CHECK_INT(setrlimit(RLIMIT_FSIZE, &saved), 0);
    }
    signal(SIGXFSZ, old_handler);
    unlink(shm);
}

/* ENOSPC from a full 1 MiB tmpfs. */
static void copy_enospc(void)
{
    char mnt[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    make_dir(mnt, "small");
    ni_test_path(src, "src");
    path_in(dst, mnt, "dst");
    if (mount("ni-test", mnt, "tmpfs", 0, "size=1m") != 0)
    {
        ni_test_skip("mounting a small tmpfs is not allowed here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(make_file(src, 3u << 20, 1));
    CHECK_RC(ni_copyfile(src, dst, 0), ENOSPC);
    CHECK(!exists(dst));
    CHECK_INT(count_entries(mnt, ""), 0);
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), ENOSPC);
    CHECK(ni_test_file_equals(dst, "old", 3));
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE), ENOSPC);
    CHECK(ni_test_file_equals(dst, "old", 3));
    CHECK_INT(count_entries(mnt, ""), 1);
    /* And what fits, fits. */
    CHECK(make_file(src, 300u << 10, 2));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(same_content(src, dst));
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

struct injected_copy
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
};

/* The whole round with the faults in force: new and replaced destinations, EEXIST, a failure, the
   no-replace race (a destination created while the copy runs) and its overwrite twin. */
static int injected_round(void* arg)
{
    struct injected_copy* t = arg;
    int ok = 1;
    unlink(t->dst);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, 0));
    ok &= CHECK(same_content(t->src, t->dst));
    ok &= CHECK_INT(mode_of(t->dst), 0640);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, 0), EEXIST);
    ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE));
    ok &= CHECK(same_content(t->src, t->dst));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    /* Durable, replacing and new: the same files through the same fallbacks. */
    ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    ok &= CHECK(same_content(t->src, t->dst));
    unlink(t->dst);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_DURABLE));
    ok &= CHECK(same_content(t->src, t->dst));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);

    /* Created meanwhile: without overwrite the newcomer wins (EEXIST) and stays as it is. */
    unlink(t->dst);
    struct recorder* r = new_recorder();
    if (r == NULL)
        return 0;
    r->intruder = t->dst;
    r->size = 3u << 20;
    ok &= CHECK_RC(ni_copyfile_ex(t->src, t->dst, 0, record, r), EEXIST);
    ok &= CHECK(ni_test_file_equals(t->dst, "intruder", 8));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    /* With overwrite the copy replaces it. */
    unlink(t->dst);
    r->count = 0;
    ok &= CHECK_OK(ni_copyfile_ex(t->src, t->dst, NI_COPY_OVERWRITE, record, r));
    ok &= CHECK(same_content(t->src, t->dst));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    free(r);

    /* A failure (/proc/self/mem reads EIO) leaves no temp. */
    ok &= CHECK(ni_copyfile("/proc/self/mem", t->dst, NI_COPY_OVERWRITE) != 0);
    ok &= CHECK(same_content(t->src, t->dst));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    return ok;
}

static void prepare_injected(struct injected_copy* t)
{
    make_dir(t->dir, "d");
    path_in(t->src, t->dir, "src");
    path_in(t->dst, t->dir, "dst");
    CHECK(make_file(t->src, 3u << 20, 77));
    CHECK_INT(chmod(t->src, 0640), 0);
}

/* Every fallback, forced by failing the call it falls back from. */
static void copy_fallbacks(void)
{
    /* Each list ends at the first entry without an error (the FAULT_* macros give one or two entries). */
    static const struct { const char* name; struct ni_test_fault faults[8]; } cases[] = {
        { "no O_TMPFILE: a named temp and renameat2(RENAME_NOREPLACE)", { FAULT_NO_TMPFILE } },
        { "no O_TMPFILE, no renameat2: link() and unlink()", { FAULT_NO_TMPFILE, { SYS_renameat2, -1, 0, ENOSYS } } },
        { "no O_TMPFILE, renameat2 without flags support (EINVAL): link() and unlink()",
          { FAULT_NO_TMPFILE, { SYS_renameat2, -1, 0, EINVAL } } },
        { "no O_TMPFILE, no renameat2, no hard links: a check, then rename()",
          { FAULT_NO_TMPFILE, { SYS_renameat2, -1, 0, ENOSYS }, FAULT_NO_HARDLINKS } },
        { "no copy_file_range (ENOSYS): sendfile", { { SYS_copy_file_range, -1, 0, ENOSYS } } },
        { "copy_file_range refused by seccomp (EPERM), no sendfile: read/write",
          { { SYS_copy_file_range, -1, 0, EPERM }, { SYS_sendfile, -1, 0, ENOSYS } } },
        { "no FICLONE, copy_file_range EOPNOTSUPP, sendfile EINVAL: read/write",
          { { SYS_ioctl, -1, 0, ENOTTY }, { SYS_copy_file_range, -1, 0, EOPNOTSUPP }, { SYS_sendfile, -1, 0, EINVAL } } },
    };
    struct injected_copy t;
    prepare_injected(&t);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
        size_t count = 0;
        while (count < 8 && cases[i].faults[count].error != 0)
            count++;
        printf("  %s\n", cases[i].name);
        int rc = ni_test_run_injected(cases[i].faults, count, injected_round, &t);
        if (rc < 0)
        {
            ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
            return;
        }
    }
}

/* EPERM from the data call in the middle of a sparse copy (the second extent's copy_file_range: its
   length, 3 MiB, is the only one with bit 21 set) is the copy's answer: no destination, no temp, an old
   destination kept. EPERM is 1, which once also meant "SEEK_DATA unsupported": the copy then went on
   over the whole file from where the failed extent had left the offsets, and reported success. */
struct sparse_eperm
{
    struct injected_copy files;
    int64_t size;
};

static int sparse_eperm_round(void* arg)
{
    struct sparse_eperm* t = arg;
    int ok = 1;
    unlink(t->files.dst);
    ok &= CHECK_RC(ni_copyfile(t->files.src, t->files.dst, 0), EPERM);
    ok &= CHECK(!exists(t->files.dst));
    ok &= CHECK_INT(count_entries(t->files.dir, ""), 1);
    ok &= CHECK_OK(ni_test_write_file(t->files.dst, "old", 3, 0644));
    ok &= CHECK_RC(ni_copyfile(t->files.src, t->files.dst, NI_COPY_OVERWRITE), EPERM);
    ok &= CHECK(ni_test_file_equals(t->files.dst, "old", 3));
    ok &= CHECK_INT(count_entries(t->files.dir, ""), 2);
    return ok;
}

static void copy_sparse_eperm_mid_copy(void)
{
    struct sparse_eperm t;
    make_dir(t.files.dir, "d");
    path_in(t.files.src, t.files.dir, "src");
    path_in(t.files.dst, t.files.dir, "dst");
    t.size = (int64_t)16 << 20;
    const int64_t second = (int64_t)8 << 20, second_length = (int64_t)3 << 20;
    int fd = open(t.files.src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!CHECK(fd >= 0))
        return;
    CHECK_INT(ftruncate(fd, (off_t)t.size), 0);
    close(fd);
    CHECK(write_at(t.files.src, 0, 64u << 10, 1));
    CHECK(write_at(t.files.src, second, (size_t)second_length, 2));
    if (blocks_of(t.files.src) * 512 >= t.size)
    {
        ni_test_skip("the file system here does not keep holes");
        return;
    }
    /* Control: without the fault the same copy works (and keeps the holes). */
    CHECK_OK(ni_copyfile(t.files.src, t.files.dst, 0));
    CHECK(same_content(t.files.src, t.files.dst));
    CHECK(blocks_of(t.files.dst) < t.size / 512);
    /* No reflink (a file system that has one would copy in one call), and EPERM for the second extent. */
    const struct ni_test_fault faults[] = { { SYS_ioctl, -1, 0, ENOTTY },
                                            { SYS_copy_file_range, 4, (uint32_t)second_length & ~(1u << 20), EPERM } };
    if (ni_test_run_injected(faults, 2, sparse_eperm_round, &t) < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
}

/* Metadata the file system refuses (EPERM, as FAT and some network file systems say) does not fail
   the copy; any other metadata error fails it and leaves nothing. */
static int metadata_round(void* arg)
{
    struct injected_copy* t = arg;
    int ok = 1;
    unlink(t->dst);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, 0));
    ok &= CHECK(same_content(t->src, t->dst));
    return ok;
}

static int metadata_failure_round(void* arg)
{
    struct injected_copy* t = arg;
    int ok = 1;
    unlink(t->dst);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, 0), EIO);
    ok &= CHECK(!exists(t->dst));
    int fd = open(t->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644); /* not ni_test_write_file: no fchmod here */
    ok &= CHECK(fd >= 0 && write(fd, "old", 3) == 3);
    if (fd >= 0)
        close(fd);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE), EIO);
    ok &= CHECK(ni_test_file_equals(t->dst, "old", 3));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    return ok;
}

static void copy_metadata_errors(void)
{
    struct injected_copy t;
    prepare_injected(&t);
    const struct ni_test_fault eperm[] = { { SYS_fchmod, -1, 0, EPERM }, { SYS_utimensat, -1, 0, EPERM } };
    const struct ni_test_fault eio[] = { { SYS_fchmod, -1, 0, EIO } };
    int rc = ni_test_run_injected(eperm, 2, metadata_round, &t);
    if (rc >= 0)
        rc = ni_test_run_injected(eio, 1, metadata_failure_round, &t);
    if (rc < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
}

/* ---- A process killed mid-copy ---- */

struct killed_copy
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
    int notify[2];
};

static int copy_until_paused(void* arg)
{
    struct killed_copy* k = arg;
    struct recorder* r = new_recorder();
    if (r == NULL)
        return 0;
    r->pause_at_data = 1;
    r->notify_fd = k->notify[1];
    ni_copyfile_ex(k->src, k->dst, NI_COPY_OVERWRITE, record, r);
    return 0; /* not reached: it pauses at the first chunk until killed */
}

/* Starts a child copying a 64 MiB file over `dst` (under `faults`), waits until it has copied its first
   chunk, SIGKILLs it, and returns how many temp files it left (-1: could not run, -2: skip). */
static int kill_mid_copy(struct killed_copy* k, const struct ni_test_fault* faults, size_t count)
{
    if (!CHECK_INT(pipe(k->notify), 0))
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0)
    {
        close(k->notify[0]);
        if (count > 0 && !ni_test_inject(faults, count))
            _exit(NI_TEST_SKIPPED);
        copy_until_paused(k);
        _exit(1);
    }
    close(k->notify[1]);
    char byte;
    ssize_t n = read(k->notify[0], &byte, 1);
    close(k->notify[0]);
    int status = 0;
    if (n != 1)
    {
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == NI_TEST_SKIPPED)
            return -2;
        CHECK_INT(n, 1);
        return -1;
    }
    /* Mid-copy for sure: the child has its temp open, with data in it. */
    char target[PATH_MAX];
    int fd = find_temp_fd(pid, k->dir, target);
    CHECK(fd >= 0);
    CHECK_INT(kill(pid, SIGKILL), 0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(ni_test_file_equals(k->dst, "the old destination", 19));
    return count_temps(k->dir);
}

static void prepare_killed(struct killed_copy* k)
{
    make_dir(k->dir, "d");
    path_in(k->src, k->dir, "src");
    path_in(k->dst, k->dir, "dst");
    CHECK(make_file(k->src, 64u << 20, 5));
    CHECK_OK(ni_test_write_file(k->dst, "the old destination", 19, 0644));
}

/* O_TMPFILE (what Linux file systems have): the temp dies with the process, nothing is left. */
static void copy_killed_mid_copy(void)
{
    struct killed_copy k;
    prepare_killed(&k);
    CHECK_INT(kill_mid_copy(&k, NULL, 0), 0);
    CHECK_INT(count_entries(k.dir, ""), 2);
}

/* A named temp (a file system without O_TMPFILE): it outlives the process, the one documented
   leftover, named .ni-copy-<16 hex>.tmp in the destination's directory; the destination is intact. */
static void copy_killed_mid_copy_named_temp(void)
{
    struct killed_copy k;
    prepare_killed(&k);
    const struct ni_test_fault no_tmpfile[] = { FAULT_NO_TMPFILE };
    int left = kill_mid_copy(&k, no_tmpfile, sizeof no_tmpfile / sizeof no_tmpfile[0]);
    if (left == -2)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
    else
    {
        CHECK_INT(left, 1);
        CHECK_INT(count_entries(k.dir, ""), 3);
    }
}

/* A child killed while the kernel copies (no callback involved): a large tmpfs-to-disk copy is
   SIGKILLed as soon as its temp file shows, and leaves the old destination and nothing else. */
static void copy_killed_in_the_kernel(void)
{
    struct killed_copy k;
    make_dir(k.dir, "d");
    path_in(k.dst, k.dir, "dst");
    snprintf(k.src, sizeof k.src, "/dev/shm/ni-test-kill-%d", (int)getpid());
    if (!CHECK(make_file(k.src, 512u << 20, 6)))
    {
        unlink(k.src);
        return;
    }
    CHECK_OK(ni_test_write_file(k.dst, "the old destination", 19, 0644));
    int caught = 0;
    for (int attempt = 0; attempt < 10 && !caught; attempt++)
    {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0)
            _exit(ni_copyfile(k.src, k.dst, NI_COPY_OVERWRITE) == 0 ? 0 : 1);
        char target[PATH_MAX];
        const struct timespec pause = { 0, 100 * 1000 };
        for (int i = 0; i < 20000 && !caught; i++)
        {
            caught = find_temp_fd(pid, k.dir, target) >= 0 && kill(pid, SIGKILL) == 0;
            if (!caught)
                nanosleep(&pause, NULL);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (caught)
            CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        else
            CHECK_OK(ni_test_write_file(k.dst, "the old destination", 19, 0644)); /* it finished: again */
    }
    CHECK(caught);
    CHECK(ni_test_file_equals(k.dst, "the old destination", 19));
    CHECK_INT(count_entries(k.dir, ""), 1);
    unlink(k.src);
}

/* ---- Destinations that are written in place ---- */

struct fifo_reader
{
    const char* path;
    char* data;
    size_t size;
};

static void* read_fifo(void* arg)
{
    struct fifo_reader* r = arg;
    FILE* f = fopen(r->path, "rbe");
    r->data = f != NULL ? ni_test_read_stream(f, &r->size) : NULL;
    if (f != NULL)
        fclose(f);
    return NULL;
}

/* A FIFO destination is written to, as File.Copy writes it, never replaced by a file. */
static void copy_onto_fifo(void)
{
    char src[PATH_MAX], fifo[PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(fifo, "fifo");
    CHECK(make_file(src, 2u << 20, 4));
    CHECK_INT(mkfifo(fifo, 0644), 0);
    struct fifo_reader r = { fifo, NULL, 0 };
    pthread_t thread;
    if (!CHECK_INT(pthread_create(&thread, NULL, read_fifo, &r), 0))
        return;
    CHECK_OK(ni_copyfile(src, fifo, NI_COPY_OVERWRITE));
    pthread_join(thread, NULL);
    char* expected = malloc(2u << 20);
    if (CHECK(expected != NULL && r.data != NULL))
    {
        fill(expected, 2u << 20, 4);
        CHECK(r.size == 2u << 20 && memcmp(r.data, expected, r.size) == 0);
    }
    free(expected);
    free(r.data);
    struct stat st;
    CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
}

struct unprivileged
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX];
};

static int drop_privileges(void)
{
    return setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0;
}

/* The directory refuses new entries but the destination may be written: in place, as File.Copy. */
static int copy_into_locked_directory(void* arg)
{
    struct unprivileged* u = arg;
    if (!drop_privileges())
        return CHECK(0);
    int ok = 1;
    struct stat before, after;
    ok &= CHECK_INT(stat(u->dst, &before), 0);
    ok &= CHECK_OK(ni_copyfile(u->src, u->dst, NI_COPY_OVERWRITE));
    ok &= CHECK(same_content(u->src, u->dst));
    ok &= CHECK_INT(stat(u->dst, &after), 0);
    ok &= CHECK(before.st_ino == after.st_ino); /* written in place */
    ok &= CHECK_INT(after.st_uid, 0);            /* still root's file */
    ok &= CHECK_INT(count_entries(u->dir, ""), 2);
    return ok;
}

static int copy_over_read_only(void* arg)
{
    struct unprivileged* u = arg;
    if (!drop_privileges())
        return CHECK(0);
    int ok = CHECK_RC(ni_copyfile(u->src, u->dst, NI_COPY_OVERWRITE), EACCES);
    ok &= CHECK(ni_test_file_equals(u->dst, "read-only", 9));
    ok &= CHECK_INT(count_temps(u->dir), 0);
    return ok;
}

static void copy_in_place_fallbacks(void)
{
    if (geteuid() != 0)
    {
        ni_test_skip("needs root, to make files of another user");
        return;
    }
    struct unprivileged u;
    char top[PATH_MAX];
    ni_test_path(top, "");
    top[strlen(top) - 1] = '\0';
    struct stat top_st;
    CHECK_INT(stat(top, &top_st), 0);
    CHECK_INT(chmod(top, 0755), 0); /* so that nobody can reach the fixtures */
    make_dir(u.dir, "d");
    path_in(u.src, u.dir, "src");
    path_in(u.dst, u.dir, "dst");
    CHECK(make_file(u.src, 2u << 20, 8));
    CHECK_INT(chmod(u.src, 0644), 0);
    CHECK_OK(ni_test_write_file(u.dst, "old destination, longer than nothing", 36, 0666));

    /* A directory nobody may add to, with a file nobody may write. */
    CHECK_INT(chmod(u.dir, 0755), 0);
    CHECK(ni_test_run_injected(NULL, 0, copy_into_locked_directory, &u) == 1);

    /* A sticky directory (like /tmp): nobody may create the temp but not rename over root's file. */
    CHECK_INT(chmod(u.dir, 01777), 0);
    CHECK_OK(ni_test_write_file(u.dst, "old destination, longer than nothing", 36, 0666));
    CHECK(ni_test_run_injected(NULL, 0, copy_into_locked_directory, &u) == 1);

    /* A destination nobody may write: EACCES, although the (writable) directory would allow a rename. */
    CHECK_OK(ni_test_write_file(u.dst, "read-only", 9, 0644));
    CHECK(ni_test_run_injected(NULL, 0, copy_over_read_only, &u) == 1);
    CHECK_INT(chmod(top, top_st.st_mode & 07777), 0);
}

/* A destination that is a mount point (a bind-mounted file, as containers have for /etc/hosts) cannot
   be renamed over (EBUSY): it is written in place. */
static void copy_onto_mount_point(void)
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], backing[PATH_MAX];
    make_dir(dir, "d");
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    ni_test_path(backing, "backing");
    CHECK(make_file(src, 1u << 20, 9));
    CHECK_OK(ni_test_write_file(dst, "mount point", 11, 0644));
    CHECK_OK(ni_test_write_file(backing, "backing file, longer", 20, 0644));
    if (mount(backing, dst, NULL, MS_BIND, NULL) != 0)
    {
        ni_test_skip("bind mounts are not allowed here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(same_content(src, dst));
    CHECK_INT(count_temps(dir), 0);
    CHECK_INT(umount2(dst, MNT_DETACH), 0);
    CHECK(same_content(src, backing)); /* what was mounted there got the data */
    CHECK(ni_test_file_equals(dst, "mount point", 11));
}

/* ---- Durability: what is flushed, and when ---- */

/* fsync and sync_file_range as the library calls them, recorded: these definitions in the test program take the
   place of libc's for the library too (ELF interposition; visible by name, although the build hides symbols by
   default), and make the real calls. Each call notes what the descriptor is and what the watched destination
   holds at that moment, which proves the order of the flushes against the moment the destination's name changes. */
enum { FLUSH_FILE, FLUSH_DIR, WRITE_OUT };
struct fsync_log
{
    const char* watched;   /* the destination, or NULL: not recording */
    const char* old_content;
    int count;
    int kind[8];
    int dst_was_old[8];    /* the destination still held its old content (or was absent) */
};
static struct fsync_log g_fsyncs;

static void note_flush(int fd, int write_out)
{
    struct fsync_log* log = &g_fsyncs;
    if (log->watched == NULL || log->count >= 8)
        return;
    struct stat st;
    log->kind[log->count] = write_out ? WRITE_OUT : fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? FLUSH_DIR : FLUSH_FILE;
    log->dst_was_old[log->count] = log->old_content != NULL
        ? ni_test_file_equals(log->watched, log->old_content, strlen(log->old_content)) : !exists(log->watched);
    log->count++;
}

__attribute__((visibility("default"))) int fsync(int fd)
{
    note_flush(fd, 0);
    return (int)syscall(SYS_fsync, fd);
}

__attribute__((visibility("default"))) int sync_file_range(int fd, off64_t offset, off64_t length, unsigned int flags)
{
    note_flush(fd, 1);
    return (int)syscall(SYS_sync_file_range, fd, offset, length, flags);
}

/* The flushes of copies into `dir` (new and replaced, durable and not): durable, `first` (the file's fsync, or its
   data written out) while the destination is still the old one (or absent), then the directory's fsync once it is
   the new file; not durable, none. */
static void check_flush_order(const char* dir, int first)
{
    char src[PATH_MAX], dst[PATH_MAX];
    path_in(src, dir, "src");
    path_in(dst, dir, "dst");
    CHECK(make_file(src, 3u << 20, 31));
    for (int overwrite = 0; overwrite < 2; overwrite++)
    {
        for (int durable = 0; durable < 2; durable++)
        {
            unlink(dst);
            if (overwrite)
                CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
            memset(&g_fsyncs, 0, sizeof g_fsyncs);
            g_fsyncs.watched = dst;
            g_fsyncs.old_content = overwrite ? "old" : NULL;
            int32_t flags = (overwrite ? NI_COPY_OVERWRITE : 0) | (durable ? NI_COPY_DURABLE : 0);
            CHECK_OK(ni_copyfile(src, dst, flags));
            g_fsyncs.watched = NULL;
            CHECK(same_content(src, dst));
            CHECK_INT(count_entries(dir, ""), 2);
            if (!durable)
            {
                CHECK_INT(g_fsyncs.count, 0);
                continue;
            }
            if (!CHECK_INT(g_fsyncs.count, 2))
                continue;
            CHECK(g_fsyncs.kind[0] == first && g_fsyncs.dst_was_old[0]); /* the file, before its name */
            CHECK(g_fsyncs.kind[1] == FLUSH_DIR && !g_fsyncs.dst_was_old[1]); /* the directory, after */
        }
    }
}

/* Whether the ext4 holding `dir` has a journal (/sys/fs/ext4/<device>/journal_task is a task id, not "<none>"). */
static int ext4_journaled(const char* dir)
{
    struct stat st;
    char link[128], target[PATH_MAX], path[PATH_MAX + 64];
    if (stat(dir, &st) != 0)
        return 0;
    snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return 0;
    target[n] = '\0';
    snprintf(path, sizeof path, "/sys/fs/ext4/%s/journal_task", strrchr(target, '/') + 1);
    char* answer = ni_test_read_file(path, NULL);
    int journaled = answer != NULL && answer[0] != '<';
    free(answer);
    return journaled;
}

/* In the test dir (fsync of the file, unless it is an ext4 with a journal), and on XFS, whose journal commits the
   file with its name: there the data is only written out (sync_file_range) before the rename. */
static void copy_durable_flushes_in_order(void)
{
    char dir[PATH_MAX], mnt[PATH_MAX];
    make_dir(dir, "d");
    struct statfs fs;
    CHECK_INT(statfs(dir, &fs), 0);
    int one_commit = fs.f_type == 0x58465342 || (fs.f_type == 0xEF53 && ext4_journaled(dir));
    check_flush_order(dir, one_commit ? WRITE_OUT : FLUSH_FILE);
    if (!mount_xfs(mnt))
        return;
    check_flush_order(mnt, WRITE_OUT);
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

/* fsync and sync_file_range failing (EIO: the device lost the write) fail a durable copy: no new destination,
   the old one intact, no temp; a copy that is not durable does not flush, and succeeds. With and without
   O_TMPFILE. */
struct durable_failure
{
    struct injected_copy files;
    int named; /* without O_TMPFILE */
};

static int fsync_eio_round(void* arg)
{
    struct injected_copy* t = arg;
    int ok = 1;
    unlink(t->dst);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, NI_COPY_DURABLE), EIO);
    ok &= CHECK(!exists(t->dst));
    ok &= CHECK_INT(count_entries(t->dir, ""), 1);
    ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE), EIO);
    ok &= CHECK(ni_test_file_equals(t->dst, "old", 3));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE));
    ok &= CHECK(same_content(t->src, t->dst));
    ok &= CHECK_INT(count_entries(t->dir, ""), 2);
    return ok;
}

static void copy_durable_fsync_fails(void)
{
    struct injected_copy t;
    prepare_injected(&t);
    const struct ni_test_fault eio[] = { { SYS_fsync, -1, 0, EIO }, { SYS_fdatasync, -1, 0, EIO },
                                         { SYS_sync_file_range, -1, 0, EIO } };
    const struct ni_test_fault eio_named[] = { { SYS_fsync, -1, 0, EIO }, { SYS_fdatasync, -1, 0, EIO },
                                               { SYS_sync_file_range, -1, 0, EIO }, FAULT_NO_TMPFILE };
    int rc = ni_test_run_injected(eio, 3, fsync_eio_round, &t);
    if (rc >= 0)
        rc = ni_test_run_injected(eio_named, sizeof eio_named / sizeof eio_named[0], fsync_eio_round, &t);
    if (rc < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
}

/* The slot of a destination's temp: ".ni-copy-<FNV-1a 64 of the destination's name, 16 hex>.tmp" (the
   naming contract of native/src/unix/copy_temp.c, which the next copy relies on to find a leftover). */
static void slot_path(char out[PATH_MAX], const char* dir, const char* name)
{
    uint64_t hash = 0xcbf29ce484222325u;
    for (const unsigned char* p = (const unsigned char*)name; *p != '\0'; p++)
        hash = (hash ^ *p) * 0x100000001b3u;
    CHECK(snprintf(out, PATH_MAX, "%s/.ni-copy-%016llx.tmp", dir, (unsigned long long)hash) < PATH_MAX);
}

static int is_ext4(const char* dir)
{
    struct statfs fs;
    return statfs(dir, &fs) == 0 && fs.f_type == 0xEF53;
}

/* ext4, data not yet flushed: the old destination is swapped out with renameat2(RENAME_EXCHANGE) (a rename
   over it would start the new file's writeback). The call is proved by forbidding it (the copy is killed);
   where the swap is refused (EINVAL, as NFS says; ENOSYS), rename takes over; a durable copy (its data is
   flushed already) and a new destination never swap. */
#define RENAME_EXCHANGE_BIT 2u
static int exchange_killed_round(void* arg)
{
    struct injected_copy* t = arg;
    CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE); /* killed inside */
    return 1;
}

/* Every copy but the one that swaps: overwrite only when durable (`swapping_allowed` 0), or all of them. */
static int copies_round(struct injected_copy* t, int swapping_allowed)
{
    int ok = 1;
    for (int durable = 0; durable < 2; durable++)
    {
        ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
        if (!durable && !swapping_allowed)
        {
            unlink(t->dst);
            continue;
        }
        ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE | (durable ? NI_COPY_DURABLE : 0)));
        ok &= CHECK(same_content(t->src, t->dst));
        ok &= CHECK_INT(count_entries(t->dir, ""), 2);
        unlink(t->dst);
        ok &= CHECK_OK(ni_copyfile(t->src, t->dst, durable ? NI_COPY_DURABLE : 0));
        ok &= CHECK(same_content(t->src, t->dst));
        unlink(t->dst);
    }
    return ok;
}

static int no_swap_round(void* arg)
{
    return copies_round(arg, 0);
}

static int all_copies_round(void* arg)
{
    return copies_round(arg, 1);
}

static void copy_exchange_and_its_fallback(void)
{
    struct injected_copy t;
    prepare_injected(&t);
    if (!is_ext4(t.dir))
    {
        ni_test_skip("the test dir is not on ext4, where the copy swaps names");
        return;
    }
    const struct ni_test_fault kill_exchange[] = { { SYS_renameat2, 4, RENAME_EXCHANGE_BIT, NI_TEST_FAULT_KILL } };
    const struct ni_test_fault einval[] = { { SYS_renameat2, 4, RENAME_EXCHANGE_BIT, EINVAL } };
    const struct ni_test_fault enosys[] = { { SYS_renameat2, -1, 0, ENOSYS } };
    if (ni_test_run_injected(kill_exchange, 1, no_swap_round, &t) < 0) /* durable and new: no swap */
    {
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
        return;
    }
    /* Control: the same filter kills a copy that is not durable (the swap is made). */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
    {
        if (!ni_test_inject(kill_exchange, 1))
            _exit(NI_TEST_SKIPPED);
        exchange_killed_round(&t);
        _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS);
    CHECK(ni_test_file_equals(t.dst, "old", 3)); /* the swap never happened */
    char slot[PATH_MAX];
    slot_path(slot, t.dir, "dst");
    CHECK(exists(slot)); /* the temp had its name for the swap: the leftover the next copy removes */
    CHECK_INT(count_entries(t.dir, ""), 3);
    CHECK(ni_test_run_injected(einval, 1, all_copies_round, &t) == 1);
    CHECK(!exists(slot));
    CHECK(ni_test_run_injected(enosys, 1, all_copies_round, &t) == 1);
    CHECK_INT(count_entries(t.dir, ""), 1);
}

/* A temp left behind by a killed copy sits at its destination's slot; the next copy to that destination
   removes it. A file at the slot that another copy holds locked is not touched (the copy takes a random
   name), and neither is a slot that is a directory or a symlink. */
static void copy_removes_leftover_temp(void)
{
    struct killed_copy k;
    prepare_killed(&k);
    char slot[PATH_MAX];
    slot_path(slot, k.dir, "dst");
    const struct ni_test_fault no_tmpfile[] = { FAULT_NO_TMPFILE };
    int left = kill_mid_copy(&k, no_tmpfile, sizeof no_tmpfile / sizeof no_tmpfile[0]);
    if (left == -2)
    {
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
        return;
    }
    CHECK_INT(left, 1);
    CHECK(exists(slot)); /* the leftover is at the slot */
    CHECK_OK(ni_copyfile(k.src, k.dst, NI_COPY_OVERWRITE));
    CHECK(same_content(k.src, k.dst));
    CHECK_INT(count_entries(k.dir, ""), 2);

    /* Live: a temp at the slot whose lock is held (here by this process, on another open file). */
    CHECK_OK(ni_test_write_file(slot, "live", 4, 0600));
    int holder = open(slot, O_RDONLY | O_CLOEXEC);
    CHECK(holder >= 0 && flock(holder, LOCK_EX) == 0);
    for (int durable = 0; durable < 2; durable++)
    {
        CHECK_OK(ni_copyfile(k.src, k.dst, NI_COPY_OVERWRITE | (durable ? NI_COPY_DURABLE : 0)));
        CHECK(ni_test_file_equals(slot, "live", 4));
        CHECK_INT(count_entries(k.dir, ""), 3);
    }
    if (holder >= 0)
        close(holder);
    /* Unlocked now: a leftover, which the next copy removes. */
    CHECK_OK(ni_copyfile(k.src, k.dst, NI_COPY_OVERWRITE));
    CHECK(!exists(slot));

    /* Not a file: left alone. */
    CHECK_INT(mkdir(slot, 0700), 0);
    CHECK_OK(ni_copyfile(k.src, k.dst, NI_COPY_OVERWRITE));
    CHECK_INT(rmdir(slot), 0);
    CHECK_INT(symlink("src", slot), 0);
    CHECK_OK(ni_copyfile(k.src, k.dst, NI_COPY_OVERWRITE));
    CHECK_INT(unlink(slot), 0);
    CHECK_INT(count_entries(k.dir, ""), 2);
    CHECK(same_content(k.src, k.dst));
}

/* ---- Inheritance ---- */

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
   destination), so a child can be started right in the middle of it: it must hold none of them. */
static void copy_is_not_inherited_mid_copy(void)
{
    char dir[PATH_MAX], src[PATH_MAX], dst[PATH_MAX], control_path[PATH_MAX];
    make_dir(dir, "d");
    path_in(src, dir, "fifo");
    path_in(dst, dir, "dst");
    ni_test_path(control_path, "control");
    if (!CHECK_INT(mkfifo(src, 0644), 0))
        return;
    int control = open(control_path, O_WRONLY | O_CREAT, 0644);
    if (!CHECK(control >= 0))
        return;
    for (int overwrite = 0; overwrite < 2; overwrite++)
    {
        if (overwrite)
            CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
        struct copy_job job = { src, dst, overwrite ? NI_COPY_OVERWRITE : 0, -1, 0 };
        pthread_t thread;
        if (!CHECK_INT(pthread_create(&thread, NULL, run_copy, &job), 0))
            break;
        int writer = open(src, O_WRONLY | O_CLOEXEC); /* returns once the copy opened its end */
        CHECK(writer >= 0);
        ssize_t written = write(writer, "hello", 5); /* EPIPE (SIGPIPE is ignored) if it gave up */
        const struct timespec pause = { 0, 1000 * 1000 };
        char temp[PATH_MAX];
        int temp_fd = -1;
        for (int i = 0; i < 5000 && !atomic_load(&job.done) && (temp_fd = find_temp_fd(getpid(), dir, temp)) < 0; i++)
            nanosleep(&pause, NULL);

        if (!atomic_load(&job.done) && CHECK(temp_fd >= 0))
        {
            char* list = ni_test_child_fds();
            CHECK(list != NULL && !ni_test_fds_have(list, -1, src)); /* neither its end nor our writer */
            CHECK(list != NULL && !ni_test_fds_have(list, -1, temp));
            CHECK(list != NULL && !ni_test_fds_have(list, -1, dst));
            CHECK(list != NULL && ni_test_fds_have(list, control, control_path)); /* not blind */
            if (overwrite)
                CHECK(ni_test_find_fd(dst) >= 0); /* the existing destination was open (and locked) too */
            free(list);
        }
        close(writer);
        pthread_join(thread, NULL);
        CHECK_OK(job.rc);
        CHECK_INT(written, 5);
        CHECK(ni_test_file_equals(dst, "hello", 5));
        CHECK_NOTHING_OPEN(src, dst);
        CHECK(find_temp_fd(getpid(), dir, temp) < 0);
        unlink(dst);
    }
    close(control);
}

NI_TEST_MAIN(
    NI_TEST(copy_contents),
    NI_TEST(copy_chunk_edges),
    NI_TEST(copy_read_write_edges),
    NI_TEST(copy_proc_and_sys_files),
    NI_TEST(copy_sparse_over_4gib),
    NI_TEST(copy_sparse_with_holes),
    NI_TEST(copy_across_file_systems),
    NI_TEST(copy_reflink),
    NI_TEST(copy_existing_destination),
    NI_TEST(copy_replaces_atomically),
    NI_TEST(copy_onto_itself),
    NI_TEST(copy_errors),
    NI_TEST(copy_failure_removes_destination),
    NI_TEST(copy_mode),
    NI_TEST(copy_mtime),
    NI_TEST(copy_onto_dangling_symlink),
    NI_TEST(copy_onto_symlink_chain),
    NI_TEST(copy_respects_locks),
    NI_TEST(copy_holds_destination_lock),
    NI_TEST(copy_progress),
    NI_TEST(copy_cancel),
    NI_TEST(copy_efbig),
    NI_TEST(copy_enospc),
    NI_TEST(copy_fallbacks),
    NI_TEST(copy_sparse_eperm_mid_copy),
    NI_TEST(copy_metadata_errors),
    NI_TEST(copy_killed_mid_copy),
    NI_TEST(copy_killed_mid_copy_named_temp),
    NI_TEST(copy_killed_in_the_kernel),
    NI_TEST(copy_durable_flushes_in_order),
    NI_TEST(copy_durable_fsync_fails),
    NI_TEST(copy_exchange_and_its_fallback),
    NI_TEST(copy_removes_leftover_temp),
    NI_TEST(copy_onto_fifo),
    NI_TEST(copy_in_place_fallbacks),
    NI_TEST(copy_onto_mount_point),
    NI_TEST(copy_is_not_inherited_mid_copy))
