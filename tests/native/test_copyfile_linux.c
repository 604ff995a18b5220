/* ni_copyfile and ni_copyfile_ex on Linux, the engine's own paths: kernel copies at their chunk edges
   and the read/write loop at its buffer's, procfs and sysfs files, sparse files, other file systems
   and reflinks, and the no-partial-destination guarantee under injected failures (a file-size limit,
   a full file system, seccomp-failed system calls), a killed process, and destinations that must be
   written in place; NI_COPY_DURABLE's flushes and their order, the swap on ext4 (RENAME_EXCHANGE), and
   the temp slots a later copy cleans up. */
#include "ni_test.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>

/* The engine's sizes (native/src/unix/copyfile.c): one kernel call copies at most a chunk, the
   read/write loop reads a buffer at a time. Files of exactly that size and one more cross the edges. */
#define CHUNK ((size_t)16 << 20)
#define BUFFER ((size_t)1 << 20)

/* After a copy, neither file may still be open in this process. */
#define CHECK_NOTHING_OPEN(src, dst) CHECK(!ni_test_file_is_open(src) && !ni_test_file_is_open(dst))

static int count_temps(const char* dir)
{
    return ni_test_count_entries(dir, ".ni-copy-");
}

/* Writes `size` bytes of ni_test_fill(seed) at `offset` of `path` (created 0644 if missing). */
static int write_at(const char* path, int64_t offset, size_t size, uint64_t seed)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    char* data = malloc(size > 0 ? size : 1);
    int ok = fd >= 0 && data != NULL;
    if (ok)
    {
        ni_test_fill(data, size, seed);
        ok = pwrite(fd, data, size, (off_t)offset) == (ssize_t)size;
    }
    free(data);
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A copy's temp file as /proc shows it for `pid`: "<dir>/#<inode> (deleted)" for an O_TMPFILE,
   "<dir>/.ni-copy-<hex>.tmp" for a named one. The descriptor, or -1. */
static int find_temp_fd(pid_t pid, const char* dir, char target[NI_TEST_PATH_MAX])
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
        ssize_t n = readlinkat(dirfd(d), entry->d_name, target, NI_TEST_PATH_MAX - 1);
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


/* What a copy meets at its progress calls (ni_test_recorder's hook): an intruder that creates the
   destination at the last call (copied == size), or (notify_fd >= 0) a stop at the first call with
   data, after saying so on notify_fd, until the process is killed. */
struct copy_events
{
    const char* intruder;
    int64_t size;
    int notify_fd;
};

static void at_progress(struct ni_test_recorder* r, int64_t copied)
{
    struct copy_events* e = r->hook_state;
    if (e->intruder != NULL && copied == e->size)
    {
        int fd = open(e->intruder, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0)
        {
            (void)!write(fd, "intruder", 8);
            close(fd);
        }
    }
    if (e->notify_fd >= 0 && copied > 0)
    {
        (void)!write(e->notify_fd, "x", 1);
        for (;;)
            pause();
    }
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

/* Files of exactly one kernel chunk and one byte more, through copy_file_range (same file system)
   and sendfile (tmpfs to disk, where copy_file_range says EXDEV). */
static void copy_chunk_edges(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], shm[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-%d", (int)getpid());
    const size_t sizes[] = { CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 1 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
        CHECK(ni_test_make_file(src, sizes[i], 7 + i));
        CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
        CHECK(ni_test_same_content(src, dst));
        if (ni_test_make_file(shm, sizes[i], 9 + i))
        {
            CHECK_OK(ni_copyfile(shm, dst, NI_COPY_OVERWRITE));
            CHECK(ni_test_same_content(shm, dst));
        }
    }
    ni_test_remove(shm);
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
        ni_test_fill(data, w->size, 3);
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
    char fifo[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
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
            ni_test_fill(expected, sizes[i], 3);
            CHECK(ni_test_file_equals(dst, expected, sizes[i]));
        }
        free(expected);
    }
}

static void copy_proc_and_sys_files(void)
{
    /* procfs reports st_size 0 for files that do have content. */
    char dst[NI_TEST_PATH_MAX];
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

/* Bytes of ni_test_fill(seed) at each of `offsets` match in `path`. */
static int holds_data_at(const char* path, const int64_t* offsets, size_t count, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char* expected = malloc(size);
    char* actual = malloc(size);
    int ok = fd >= 0 && expected != NULL && actual != NULL;
    for (size_t i = 0; ok && i < count; i++)
    {
        ni_test_fill(expected, size, 100 + i);
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
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
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

    struct ni_test_recorder* r = ni_test_new_recorder();
    if (!CHECK(r != NULL))
        return;
    CHECK_OK(ni_copyfile_ex(src, dst, 0, ni_test_record, r));
    struct stat st;
    CHECK_INT(stat(dst, &st), 0);
    CHECK_INT(st.st_size, size);
    CHECK(holds_data_at(dst, offsets, sizeof offsets / sizeof offsets[0], island));
    CHECK(blocks_of(dst) <= blocks_of(src) + 64); /* 32 KiB of slack for the file system's metadata */
    CHECK(blocks_of(dst) < 4096);
    CHECK(ni_test_progress_is_sound(r, size));
    CHECK_NOTHING_OPEN(src, dst);
    free(r);
}

/* Several holes (one at each end and three between), on disk and from tmpfs to disk. */
static void copy_sparse_with_holes(void)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX], shm[NI_TEST_PATH_MAX];
    ni_test_path(src, "src");
    ni_test_path(dst, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-sparse-%d", (int)getpid());
    const int64_t size = (int64_t)64 << 20;
    const int64_t offsets[] = { (int64_t)1 << 20, (int64_t)10 << 20, ((int64_t)30 << 20) + 4096, (int64_t)50 << 20 };
    const char* sources[] = { src, shm };
    for (size_t s = 0; s < 2; s++)
    {
        ni_test_remove(sources[s]);
        int fd = open(sources[s], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (!CHECK(fd >= 0))
            continue;
        CHECK_INT(ftruncate(fd, (off_t)size), 0);
        close(fd);
        for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++)
            CHECK(write_at(sources[s], offsets[i], (size_t)1 << 20, 100 + i));
        CHECK_OK(ni_copyfile(sources[s], dst, NI_COPY_OVERWRITE));
        CHECK(ni_test_same_content(sources[s], dst));
        long long expected_blocks = 4 * ((1 << 20) / 512);
        CHECK(blocks_of(sources[s]) < 2 * expected_blocks);
        CHECK(blocks_of(dst) <= blocks_of(sources[s]) + 64);
        CHECK(blocks_of(dst) >= expected_blocks);
    }
    ni_test_remove(shm);
}

/* tmpfs to the test dir's file system: a different device, copy_file_range EXDEV, sendfile. */
static void copy_across_file_systems(void)
{
    char dst[NI_TEST_PATH_MAX], shm[NI_TEST_PATH_MAX];
    ni_test_path(dst, "dst");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-cross-%d", (int)getpid());
    struct statfs fs;
    struct stat a, b;
    char dir[NI_TEST_PATH_MAX];
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
        CHECK(ni_test_make_file(shm, sizes[i], 20 + i));
        CHECK_INT(chmod(shm, 0640), 0);
        CHECK_OK(ni_copyfile(shm, dst, NI_COPY_OVERWRITE));
        CHECK(ni_test_same_content(shm, dst));
        CHECK_INT(ni_test_file_mode(dst), 0640);
        /* And back: disk to tmpfs. */
        CHECK_OK(ni_copyfile(dst, shm, NI_COPY_OVERWRITE));
        CHECK(ni_test_same_content(shm, dst));
    }
    ni_test_remove(shm);
}

/* Makes and loop-mounts an XFS image in the test dir at `mnt` ("xfs"): 1, or 0 after saying why it cannot
   (no mkfs.xfs, not root, no loop devices). The caller unmounts it. */
static int mount_xfs(char mnt[NI_TEST_PATH_MAX])
{
    char image[NI_TEST_PATH_MAX], command[4 * NI_TEST_PATH_MAX];
    ni_test_path(image, "xfs.img");
    ni_test_make_dir(mnt, "xfs");
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
    char mnt[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    if (!mount_xfs(mnt))
        return;
    ni_test_path_in(src, mnt, "src");
    ni_test_path_in(dst, mnt, "dst");
    CHECK(ni_test_make_file(src, 64u << 20, 12));
    sync();
    struct statfs before, after;
    CHECK_INT(statfs(mnt, &before), 0);
    CHECK_OK(ni_copyfile(src, dst, 0));
    sync();
    CHECK_INT(statfs(mnt, &after), 0);
    CHECK(ni_test_same_content(src, dst));
    /* 64 MiB copied, and not even 1 MiB of it allocated: the blocks are shared. */
    long long used = ((long long)before.f_bfree - (long long)after.f_bfree) * (long long)before.f_bsize;
    if (!CHECK(used < (1 << 20)))
        printf("  the copy allocated %lld bytes\n", used);
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

static void copy_failure_removes_destination(void)
{
    /* /proc/self/mem opens and stats as a regular file, but reading offset 0 fails (EIO): the copy
       fails with its temp file already written to. */
    char dir[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_make_dir(dir, "d");
    ni_test_path_in(dst, dir, "dst");
    CHECK(ni_copyfile("/proc/self/mem", dst, 0) != 0);
    CHECK(!ni_test_exists(dst));
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    CHECK(ni_copyfile("/proc/self/mem", dst, NI_COPY_OVERWRITE) != 0);
    CHECK(ni_test_file_equals(dst, "old", 3));
    CHECK_INT(ni_test_count_entries(dir, ""), 1);
}

/* ---- Injected failures: nothing partial, nothing left ---- */

/* EFBIG from RLIMIT_FSIZE (with SIGXFSZ ignored) half way through: a new destination does not appear,
   an old one keeps its content, and no temp file is left; through every fast path's failure. */
static void copy_efbig(void)
{
    struct ni_test_copy c;
    char shm[NI_TEST_PATH_MAX];
    ni_test_copy_paths(&c, "d", "src");
    snprintf(shm, sizeof shm, "/dev/shm/ni-test-efbig-%d", (int)getpid());
    CHECK(ni_test_make_file(c.src, 4u << 20, 1));
    CHECK(ni_test_make_file(shm, 4u << 20, 1));
    struct rlimit saved, limited;
    CHECK_INT(getrlimit(RLIMIT_FSIZE, &saved), 0);
    limited = saved;
    limited.rlim_cur = 1u << 20;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    if (CHECK_INT(setrlimit(RLIMIT_FSIZE, &limited), 0))
    {
        const char* sources[] = { c.src, shm }; /* copy_file_range, then sendfile */
        for (size_t s = 0; s < 2; s++)
        {
            ni_test_remove(c.dst);
            CHECK_RC(ni_copyfile(sources[s], c.dst, 0), EFBIG);
            CHECK(!ni_test_exists(c.dst));
            CHECK_INT(ni_test_count_entries(c.dir, ""), 1);
            CHECK_OK(ni_test_write_file(c.dst, "old", 3, 0644));
            CHECK_RC(ni_copyfile(sources[s], c.dst, NI_COPY_OVERWRITE), EFBIG);
            CHECK(ni_test_file_equals(c.dst, "old", 3));
            CHECK_RC(ni_copyfile(sources[s], c.dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE), EFBIG);
            CHECK(ni_test_file_equals(c.dst, "old", 3));
            CHECK_INT(ni_test_count_entries(c.dir, ""), 2);
        }
        CHECK_INT(setrlimit(RLIMIT_FSIZE, &saved), 0);
    }
    signal(SIGXFSZ, old_handler);
    ni_test_remove(shm);
}

/* ENOSPC from a full 1 MiB tmpfs. */
static void copy_enospc(void)
{
    char mnt[NI_TEST_PATH_MAX], src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_make_dir(mnt, "small");
    ni_test_path(src, "src");
    ni_test_path_in(dst, mnt, "dst");
    if (mount("ni-test", mnt, "tmpfs", 0, "size=1m") != 0)
    {
        ni_test_skip("mounting a small tmpfs is not allowed here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK(ni_test_make_file(src, 3u << 20, 1));
    CHECK_RC(ni_copyfile(src, dst, 0), ENOSPC);
    CHECK(!ni_test_exists(dst));
    CHECK_INT(ni_test_count_entries(mnt, ""), 0);
    CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE), ENOSPC);
    CHECK(ni_test_file_equals(dst, "old", 3));
    CHECK_RC(ni_copyfile(src, dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE), ENOSPC);
    CHECK(ni_test_file_equals(dst, "old", 3));
    CHECK_INT(ni_test_count_entries(mnt, ""), 1);
    /* And what fits, fits. */
    CHECK(ni_test_make_file(src, 300u << 10, 2));
    CHECK_OK(ni_copyfile(src, dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_same_content(src, dst));
    CHECK_INT(umount2(mnt, MNT_DETACH), 0);
}

/* The whole round with the faults in force: new and replaced destinations, EEXIST, a failure, the
   no-replace race (a destination created while the copy runs) and its overwrite twin. */
static int injected_round(void* arg)
{
    struct ni_test_copy* t = arg;
    int ok = 1;
    ni_test_remove(t->dst);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, 0));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ok &= CHECK_INT(ni_test_file_mode(t->dst), 0640);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, 0), EEXIST);
    ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    /* Durable, replacing and new: the same files through the same fallbacks. */
    ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ni_test_remove(t->dst);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_DURABLE));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);

    /* Created meanwhile: without overwrite the newcomer wins (EEXIST) and stays as it is. */
    ni_test_remove(t->dst);
    struct ni_test_recorder* r = ni_test_new_recorder();
    if (r == NULL)
        return 0;
    struct copy_events events = { t->dst, 3u << 20, -1 };
    r->hook = at_progress;
    r->hook_state = &events;
    ok &= CHECK_RC(ni_copyfile_ex(t->src, t->dst, 0, ni_test_record, r), EEXIST);
    ok &= CHECK(ni_test_file_equals(t->dst, "intruder", 8));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    /* With overwrite the copy replaces it. */
    ni_test_remove(t->dst);
    r->count = 0;
    ok &= CHECK_OK(ni_copyfile_ex(t->src, t->dst, NI_COPY_OVERWRITE, ni_test_record, r));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    free(r);

    /* A failure (/proc/self/mem reads EIO) leaves no temp. */
    ok &= CHECK(ni_copyfile("/proc/self/mem", t->dst, NI_COPY_OVERWRITE) != 0);
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    return ok;
}

static void prepare_injected(struct ni_test_copy* t)
{
    ni_test_copy_paths(t, "d", "src");
    CHECK(ni_test_make_file(t->src, 3u << 20, 77));
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
        { "linkat(AT_EMPTY_PATH) refused (ENOENT, as before Linux 6.10 without CAP_DAC_READ_SEARCH): through /proc",
          { { SYS_linkat, 4, AT_EMPTY_PATH, ENOENT } } },
        { "no copy_file_range (ENOSYS): sendfile", { { SYS_copy_file_range, -1, 0, ENOSYS } } },
        { "copy_file_range refused by seccomp (EPERM), no sendfile: read/write",
          { { SYS_copy_file_range, -1, 0, EPERM }, { SYS_sendfile, -1, 0, ENOSYS } } },
        { "no FICLONE, copy_file_range EOPNOTSUPP, sendfile EINVAL: read/write",
          { { SYS_ioctl, -1, 0, ENOTTY }, { SYS_copy_file_range, -1, 0, EOPNOTSUPP }, { SYS_sendfile, -1, 0, EINVAL } } },
    };
    struct ni_test_copy t;
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

/* Under injected faults: a copy that fails with `error`, to a new destination and over an old one,
   leaves nothing behind (no destination, no temp; the old destination as it was). */
static int fails_leaving_nothing(const struct ni_test_copy* t, int32_t error)
{
    int ok = 1;
    ni_test_remove(t->dst);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, 0), error);
    ok &= CHECK(!ni_test_exists(t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 1);
    int fd = open(t->dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644); /* not ni_test_write_file: fchmod may be faulted */
    ok &= CHECK(fd >= 0 && write(fd, "old", 3) == 3);
    if (fd >= 0)
        close(fd);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE), error);
    ok &= CHECK(ni_test_file_equals(t->dst, "old", 3));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    return ok;
}

/* EPERM from the data call in the middle of a sparse copy (the second extent's copy_file_range: its
   length, 3 MiB, is the only one with bit 21 set) is the copy's answer: no destination, no temp, an old
   destination kept. EPERM is 1, which once also meant "SEEK_DATA unsupported": the copy then went on
   over the whole file from where the failed extent had left the offsets, and reported success. */
static int sparse_eperm_round(void* arg)
{
    return fails_leaving_nothing(arg, EPERM);
}

static void copy_sparse_eperm_mid_copy(void)
{
    struct ni_test_copy t;
    ni_test_copy_paths(&t, "d", "src");
    const int64_t size = (int64_t)16 << 20, second = (int64_t)8 << 20, second_length = (int64_t)3 << 20;
    int fd = open(t.src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (!CHECK(fd >= 0))
        return;
    CHECK_INT(ftruncate(fd, (off_t)size), 0);
    close(fd);
    CHECK(write_at(t.src, 0, 64u << 10, 1));
    CHECK(write_at(t.src, second, (size_t)second_length, 2));
    if (blocks_of(t.src) * 512 >= size)
    {
        ni_test_skip("the file system here does not keep holes");
        return;
    }
    /* Control: without the fault the same copy works (and keeps the holes). */
    CHECK_OK(ni_copyfile(t.src, t.dst, 0));
    CHECK(ni_test_same_content(t.src, t.dst));
    CHECK(blocks_of(t.dst) < size / 512);
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
    struct ni_test_copy* t = arg;
    int ok = 1;
    ni_test_remove(t->dst);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, 0));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    return ok;
}

static int metadata_failure_round(void* arg)
{
    return fails_leaving_nothing(arg, EIO);
}

static void copy_metadata_errors(void)
{
    struct ni_test_copy t;
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
    struct ni_test_copy c;
    int notify[2];
};

static int copy_until_paused(void* arg)
{
    struct killed_copy* k = arg;
    struct ni_test_recorder* r = ni_test_new_recorder();
    if (r == NULL)
        return 0;
    struct copy_events events = { NULL, 0, k->notify[1] };
    r->hook = at_progress;
    r->hook_state = &events;
    ni_copyfile_ex(k->c.src, k->c.dst, NI_COPY_OVERWRITE, ni_test_record, r);
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
    char target[NI_TEST_PATH_MAX];
    int fd = find_temp_fd(pid, k->c.dir, target);
    CHECK(fd >= 0);
    CHECK_INT(kill(pid, SIGKILL), 0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(ni_test_file_equals(k->c.dst, "the old destination", 19));
    return count_temps(k->c.dir);
}

static void prepare_killed(struct killed_copy* k)
{
    ni_test_copy_paths(&k->c, "d", "src");
    CHECK(ni_test_make_file(k->c.src, 64u << 20, 5));
    CHECK_OK(ni_test_write_file(k->c.dst, "the old destination", 19, 0644));
}

/* O_TMPFILE (what Linux file systems have): the temp dies with the process, nothing is left. */
static void copy_killed_mid_copy(void)
{
    struct killed_copy k;
    prepare_killed(&k);
    CHECK_INT(kill_mid_copy(&k, NULL, 0), 0);
    CHECK_INT(ni_test_count_entries(k.c.dir, ""), 2);
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
        CHECK_INT(ni_test_count_entries(k.c.dir, ""), 3);
    }
}

/* A child killed while the kernel copies (no callback involved): a large tmpfs-to-disk copy is
   SIGKILLed as soon as its temp file shows, and leaves the old destination and nothing else. */
static void copy_killed_in_the_kernel(void)
{
    struct killed_copy k;
    ni_test_make_dir(k.c.dir, "d");
    ni_test_path_in(k.c.dst, k.c.dir, "dst");
    snprintf(k.c.src, sizeof k.c.src, "/dev/shm/ni-test-kill-%d", (int)getpid());
    if (!CHECK(ni_test_make_file(k.c.src, 512u << 20, 6)))
    {
        ni_test_remove(k.c.src);
        return;
    }
    CHECK_OK(ni_test_write_file(k.c.dst, "the old destination", 19, 0644));
    int caught = 0;
    for (int attempt = 0; attempt < 10 && !caught; attempt++)
    {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        if (pid == 0)
            _exit(ni_copyfile(k.c.src, k.c.dst, NI_COPY_OVERWRITE) == 0 ? 0 : 1);
        char target[NI_TEST_PATH_MAX];
        const struct timespec pause = { 0, 100 * 1000 };
        for (int i = 0; i < 20000 && !caught; i++)
        {
            caught = find_temp_fd(pid, k.c.dir, target) >= 0 && kill(pid, SIGKILL) == 0;
            if (!caught)
                nanosleep(&pause, NULL);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (caught)
            CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        else
            CHECK_OK(ni_test_write_file(k.c.dst, "the old destination", 19, 0644)); /* it finished: again */
    }
    CHECK(caught);
    CHECK(ni_test_file_equals(k.c.dst, "the old destination", 19));
    CHECK_INT(ni_test_count_entries(k.c.dir, ""), 1);
    ni_test_remove(k.c.src);
}

static int drop_privileges(void)
{
    return setgroups(0, NULL) == 0 && setgid(65534) == 0 && setuid(65534) == 0;
}

/* The directory refuses new entries but the destination may be written: in place, as File.Copy. */
static int copy_into_locked_directory(void* arg)
{
    struct ni_test_copy* u = arg;
    if (!drop_privileges())
        return CHECK(0);
    int ok = 1;
    struct stat before, after;
    ok &= CHECK_INT(stat(u->dst, &before), 0);
    ok &= CHECK_OK(ni_copyfile(u->src, u->dst, NI_COPY_OVERWRITE));
    ok &= CHECK(ni_test_same_content(u->src, u->dst));
    ok &= CHECK_INT(stat(u->dst, &after), 0);
    ok &= CHECK(before.st_ino == after.st_ino); /* written in place */
    ok &= CHECK_INT(after.st_uid, 0);            /* still root's file */
    ok &= CHECK_INT(ni_test_count_entries(u->dir, ""), 2);
    return ok;
}

static int copy_over_read_only(void* arg)
{
    struct ni_test_copy* u = arg;
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
    struct ni_test_copy u;
    char top[NI_TEST_PATH_MAX];
    ni_test_path(top, "");
    top[strlen(top) - 1] = '\0';
    struct stat top_st;
    CHECK_INT(stat(top, &top_st), 0);
    CHECK_INT(chmod(top, 0755), 0); /* so that nobody can reach the fixtures */
    ni_test_copy_paths(&u, "d", "src");
    CHECK(ni_test_make_file(u.src, 2u << 20, 8));
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
    struct ni_test_copy c;
    char backing[NI_TEST_PATH_MAX];
    ni_test_copy_paths(&c, "d", "src");
    ni_test_path(backing, "backing");
    CHECK(ni_test_make_file(c.src, 1u << 20, 9));
    CHECK_OK(ni_test_write_file(c.dst, "mount point", 11, 0644));
    CHECK_OK(ni_test_write_file(backing, "backing file, longer", 20, 0644));
    if (mount(backing, c.dst, NULL, MS_BIND, NULL) != 0)
    {
        ni_test_skip("bind mounts are not allowed here (needs CAP_SYS_ADMIN)");
        return;
    }
    CHECK_OK(ni_copyfile(c.src, c.dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_same_content(c.src, c.dst));
    CHECK_INT(count_temps(c.dir), 0);
    CHECK_INT(umount2(c.dst, MNT_DETACH), 0);
    CHECK(ni_test_same_content(c.src, backing)); /* what was mounted there got the data */
    CHECK(ni_test_file_equals(c.dst, "mount point", 11));
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
    int named[8];          /* the flushed descriptor had a name (its link count: 0 for an O_TMPFILE not linked) */
};
static struct fsync_log g_fsyncs;

static void note_flush(int fd, int write_out)
{
    struct fsync_log* log = &g_fsyncs;
    if (log->watched == NULL || log->count >= 8)
        return;
    struct stat st;
    log->kind[log->count] = write_out ? WRITE_OUT : fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) ? FLUSH_DIR : FLUSH_FILE;
    log->named[log->count] = fstat(fd, &st) == 0 && st.st_nlink > 0;
    log->dst_was_old[log->count] = log->old_content != NULL
        ? ni_test_file_equals(log->watched, log->old_content, strlen(log->old_content)) : !ni_test_exists(log->watched);
    log->count++;
}

__attribute__((visibility("default"))) int fsync(int fd)
{
    note_flush(fd, 0);
    return (int)syscall(SYS_fsync, fd);
}

/* 32-bit ARM has sync_file_range2 instead (flags second, so that each 64-bit argument fills a register pair: low
   word first). */
#ifdef SYS_sync_file_range
#define SYNC_FILE_RANGE_NR SYS_sync_file_range
#else
#define SYNC_FILE_RANGE_NR SYS_sync_file_range2
#endif

/* glibc declares it with off64_t; musl has no such type (its off_t is always 64 bits). */
#ifdef __GLIBC__
typedef off64_t range_off_t;
#else
typedef off_t range_off_t;
#endif

__attribute__((visibility("default"))) int sync_file_range(int fd, range_off_t offset, range_off_t length, unsigned int flags)
{
    if (flags & SYNC_FILE_RANGE_WAIT_AFTER) /* a write-out; a start alone (no wait) flushes nothing */
        note_flush(fd, 1);
#ifdef SYS_sync_file_range
    return (int)syscall(SYS_sync_file_range, fd, offset, length, flags);
#else
    return (int)syscall(SYS_sync_file_range2, fd, flags, (long)(uint32_t)offset, (long)(offset >> 32),
                        (long)(uint32_t)length, (long)(length >> 32));
#endif
}

/* The flushes of copies into `dir` (new and replaced, durable and not): durable, `first` (the file's fsync, or its
   data written out) while the destination is still the old one (or absent), then the directory's fsync once it is
   the new file; not durable, none. The file is named (at its temp's name) when flushed: without a journal to commit
   the file with its directory entry, its inode is written as it is at the fsync, and an unnamed O_TMPFILE's link
   count 0 on disk would make the entry written next point at a deleted inode after a crash. */
static void check_flush_order(const char* dir, int first)
{
    char src[NI_TEST_PATH_MAX], dst[NI_TEST_PATH_MAX];
    ni_test_path_in(src, dir, "src");
    ni_test_path_in(dst, dir, "dst");
    CHECK(ni_test_make_file(src, 3u << 20, 31));
    for (int overwrite = 0; overwrite < 2; overwrite++)
    {
        for (int durable = 0; durable < 2; durable++)
        {
            ni_test_remove(dst);
            if (overwrite)
                CHECK_OK(ni_test_write_file(dst, "old", 3, 0644));
            memset(&g_fsyncs, 0, sizeof g_fsyncs);
            g_fsyncs.watched = dst;
            g_fsyncs.old_content = overwrite ? "old" : NULL;
            int32_t flags = (overwrite ? NI_COPY_OVERWRITE : 0) | (durable ? NI_COPY_DURABLE : 0);
            CHECK_OK(ni_copyfile(src, dst, flags));
            g_fsyncs.watched = NULL;
            CHECK(ni_test_same_content(src, dst));
            CHECK_INT(ni_test_count_entries(dir, ""), 2);
            if (!durable)
            {
                CHECK_INT(g_fsyncs.count, 0);
                continue;
            }
            if (!CHECK_INT(g_fsyncs.count, 2))
                continue;
            CHECK(g_fsyncs.kind[0] == first && g_fsyncs.dst_was_old[0]); /* the file, before its name */
            CHECK(g_fsyncs.named[0]);
            CHECK(g_fsyncs.kind[1] == FLUSH_DIR && !g_fsyncs.dst_was_old[1]); /* the directory, after */
        }
    }
}

/* Whether the ext4 holding `dir` has a journal (/sys/fs/ext4/<device>/journal_task is a task id, not "<none>"). */
static int ext4_journaled(const char* dir)
{
    struct stat st;
    char link[128], target[NI_TEST_PATH_MAX], path[NI_TEST_PATH_MAX + 64];
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
    char dir[NI_TEST_PATH_MAX], mnt[NI_TEST_PATH_MAX];
    ni_test_make_dir(dir, "d");
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
static int fsync_eio_round(void* arg)
{
    struct ni_test_copy* t = arg;
    int ok = 1;
    ni_test_remove(t->dst);
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, NI_COPY_DURABLE), EIO);
    ok &= CHECK(!ni_test_exists(t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 1);
    ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ok &= CHECK_RC(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE | NI_COPY_DURABLE), EIO);
    ok &= CHECK(ni_test_file_equals(t->dst, "old", 3));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE));
    ok &= CHECK(ni_test_same_content(t->src, t->dst));
    ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
    return ok;
}

static void copy_durable_fsync_fails(void)
{
    struct ni_test_copy t;
    prepare_injected(&t);
    const struct ni_test_fault eio[] = { { SYS_fsync, -1, 0, EIO }, { SYS_fdatasync, -1, 0, EIO },
                                         { SYNC_FILE_RANGE_NR, -1, 0, EIO } };
    const struct ni_test_fault eio_named[] = { { SYS_fsync, -1, 0, EIO }, { SYS_fdatasync, -1, 0, EIO },
                                               { SYNC_FILE_RANGE_NR, -1, 0, EIO }, FAULT_NO_TMPFILE };
    int rc = ni_test_run_injected(eio, 3, fsync_eio_round, &t);
    if (rc >= 0)
        rc = ni_test_run_injected(eio_named, sizeof eio_named / sizeof eio_named[0], fsync_eio_round, &t);
    if (rc < 0)
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
}

/* The slot of a destination's temp: ".ni-copy-<FNV-1a 64 of the destination's name, 16 hex>.tmp" (the
   naming contract of native/src/unix/copy_temp.c, which the next copy relies on to find a leftover). */
static void slot_path(char out[NI_TEST_PATH_MAX], const char* dir, const char* name)
{
    uint64_t hash = 0xcbf29ce484222325u;
    for (const unsigned char* p = (const unsigned char*)name; *p != '\0'; p++)
        hash = (hash ^ *p) * 0x100000001b3u;
    CHECK(snprintf(out, NI_TEST_PATH_MAX, "%s/.ni-copy-%016llx.tmp", dir, (unsigned long long)hash) < NI_TEST_PATH_MAX);
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
    struct ni_test_copy* t = arg;
    CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
    ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE); /* killed inside */
    return 1;
}

/* Every copy but the one that swaps: overwrite only when durable (`swapping_allowed` 0), or all of them. */
static int copies_round(struct ni_test_copy* t, int swapping_allowed)
{
    int ok = 1;
    for (int durable = 0; durable < 2; durable++)
    {
        ok &= CHECK_OK(ni_test_write_file(t->dst, "old", 3, 0644));
        if (!durable && !swapping_allowed)
        {
            ni_test_remove(t->dst);
            continue;
        }
        ok &= CHECK_OK(ni_copyfile(t->src, t->dst, NI_COPY_OVERWRITE | (durable ? NI_COPY_DURABLE : 0)));
        ok &= CHECK(ni_test_same_content(t->src, t->dst));
        ok &= CHECK_INT(ni_test_count_entries(t->dir, ""), 2);
        ni_test_remove(t->dst);
        ok &= CHECK_OK(ni_copyfile(t->src, t->dst, durable ? NI_COPY_DURABLE : 0));
        ok &= CHECK(ni_test_same_content(t->src, t->dst));
        ni_test_remove(t->dst);
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
    struct ni_test_copy t;
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
    char slot[NI_TEST_PATH_MAX];
    slot_path(slot, t.dir, "dst");
    CHECK(ni_test_exists(slot)); /* the temp had its name for the swap: the leftover the next copy removes */
    CHECK_INT(ni_test_count_entries(t.dir, ""), 3);
    CHECK(ni_test_run_injected(einval, 1, all_copies_round, &t) == 1);
    CHECK(!ni_test_exists(slot));
    CHECK(ni_test_run_injected(enosys, 1, all_copies_round, &t) == 1);
    CHECK_INT(ni_test_count_entries(t.dir, ""), 1);
}

/* A temp left behind by a killed copy sits at its destination's slot; the next copy to that destination
   removes it. A file at the slot that another copy holds locked is not touched (the copy takes a random
   name), and neither is a slot that is a directory or a symlink. */
static void copy_removes_leftover_temp(void)
{
    struct killed_copy k;
    prepare_killed(&k);
    char slot[NI_TEST_PATH_MAX];
    slot_path(slot, k.c.dir, "dst");
    const struct ni_test_fault no_tmpfile[] = { FAULT_NO_TMPFILE };
    int left = kill_mid_copy(&k, no_tmpfile, sizeof no_tmpfile / sizeof no_tmpfile[0]);
    if (left == -2)
    {
        ni_test_skip(NI_TEST_SKIP_NO_SECCOMP);
        return;
    }
    CHECK_INT(left, 1);
    CHECK(ni_test_exists(slot)); /* the leftover is at the slot */
    CHECK_OK(ni_copyfile(k.c.src, k.c.dst, NI_COPY_OVERWRITE));
    CHECK(ni_test_same_content(k.c.src, k.c.dst));
    CHECK_INT(ni_test_count_entries(k.c.dir, ""), 2);

    /* Live: a temp at the slot whose lock is held (here by this process, on another open file). */
    CHECK_OK(ni_test_write_file(slot, "live", 4, 0600));
    int holder = open(slot, O_RDONLY | O_CLOEXEC);
    CHECK(holder >= 0 && flock(holder, LOCK_EX) == 0);
    for (int durable = 0; durable < 2; durable++)
    {
        CHECK_OK(ni_copyfile(k.c.src, k.c.dst, NI_COPY_OVERWRITE | (durable ? NI_COPY_DURABLE : 0)));
        CHECK(ni_test_file_equals(slot, "live", 4));
        CHECK_INT(ni_test_count_entries(k.c.dir, ""), 3);
    }
    if (holder >= 0)
        close(holder);
    /* Unlocked now: a leftover, which the next copy removes. */
    CHECK_OK(ni_copyfile(k.c.src, k.c.dst, NI_COPY_OVERWRITE));
    CHECK(!ni_test_exists(slot));

    /* Not a file: left alone. */
    CHECK_INT(mkdir(slot, 0700), 0);
    CHECK_OK(ni_copyfile(k.c.src, k.c.dst, NI_COPY_OVERWRITE));
    CHECK_INT(rmdir(slot), 0);
    CHECK_INT(symlink("src", slot), 0);
    CHECK_OK(ni_copyfile(k.c.src, k.c.dst, NI_COPY_OVERWRITE));
    CHECK_INT(ni_test_remove(slot), 0);
    CHECK_INT(ni_test_count_entries(k.c.dir, ""), 2);
    CHECK(ni_test_same_content(k.c.src, k.c.dst));

    /* A new destination: a durable copy names its temp at the slot before flushing it, so the system going down
       then leaves it there; the next copy to that destination removes it, also one that links its O_TMPFILE
       straight at the destination and so never needs the slot. */
    char fresh[NI_TEST_PATH_MAX], fresh_slot[NI_TEST_PATH_MAX];
    ni_test_path_in(fresh, k.c.dir, "fresh");
    slot_path(fresh_slot, k.c.dir, "fresh");
    for (int durable = 0; durable < 2; durable++)
    {
        CHECK_OK(ni_test_write_file(fresh_slot, "left", 4, 0600));
        CHECK_OK(ni_copyfile(k.c.src, fresh, durable ? NI_COPY_DURABLE : 0));
        CHECK(!ni_test_exists(fresh_slot));
        CHECK(ni_test_same_content(k.c.src, fresh));
        CHECK_INT(ni_test_remove(fresh), 0);
    }
}

NI_TEST_MAIN(
    NI_TEST_LINUX(copy_chunk_edges),
    NI_TEST_LINUX(copy_read_write_edges),
    NI_TEST_LINUX(copy_proc_and_sys_files),
    NI_TEST_LINUX(copy_sparse_over_4gib),
    NI_TEST_LINUX(copy_sparse_with_holes),
    NI_TEST_LINUX(copy_across_file_systems),
    NI_TEST_LINUX(copy_reflink),
    NI_TEST_LINUX(copy_failure_removes_destination),
    NI_TEST_LINUX(copy_efbig),
    NI_TEST_LINUX(copy_enospc),
    NI_TEST_LINUX(copy_fallbacks),
    NI_TEST_LINUX(copy_sparse_eperm_mid_copy),
    NI_TEST_LINUX(copy_metadata_errors),
    NI_TEST_LINUX(copy_killed_mid_copy),
    NI_TEST_LINUX(copy_killed_mid_copy_named_temp),
    NI_TEST_LINUX(copy_killed_in_the_kernel),
    NI_TEST_LINUX(copy_durable_flushes_in_order),
    NI_TEST_LINUX(copy_durable_fsync_fails),
    NI_TEST_LINUX(copy_exchange_and_its_fallback),
    NI_TEST_LINUX(copy_removes_leftover_temp),
    NI_TEST_LINUX(copy_in_place_fallbacks),
    NI_TEST_LINUX(copy_onto_mount_point))
