/*
 * The ways an atomic copy can put its file in place, timed against each other in one run on one directory:
 * the data through FICLONE or copy_file_range, then (replacing an existing destination)
 *   inplace         open(O_TRUNC) + write: File.Copy's way, not atomic (the baseline)
 *   tmp_rename      O_TMPFILE + linkat(temp name) + rename over the destination
 *   named_rename    open(temp name, O_EXCL) + rename
 *   tmp_exchange    O_TMPFILE + linkat(temp name) + renameat2(RENAME_EXCHANGE) + unlink of the old file
 *   named_exchange  open(temp name, O_EXCL) + renameat2(RENAME_EXCHANGE) + unlink
 * and (a new destination, removed untimed before each copy)
 *   new_plain       open(O_CREAT|O_EXCL) + write: not atomic (the baseline)
 *   new_tmplink     O_TMPFILE + linkat(destination)
 *   new_named       open(temp name, O_EXCL) + renameat2(RENAME_NOREPLACE)
 * With durable=1 each also fsyncs the file before its name changes and the directory after (inplace: the
 * file, then the directory); the two ending in _1 instead write the data and wait for it (sync_file_range)
 * and flush only the directory, which on a journaling file system commits the file with its name. It chose the copy engine's paths (docs/architecture.md, "The copy engine").
 *
 *   copy_paths <directory> <size> <iterations> <durable 0|1> [rounds]
 * prints the median over the rounds of each way's mean time per copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#  define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#  define RENAME_EXCHANGE (1 << 1)
#endif
#define FICLONE_REQUEST 0x40049409 /* _IOW(0x94, 9, int) */

static char g_dir[512], g_src[600], g_dst[600], g_tmp[600];
static size_t g_size;
static int g_durable;

static void die(const char* what)
{
    fprintf(stderr, "copy_paths: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* The data and File.Copy's metadata, as the engine moves them. */
static void fill(int in, int out)
{
    if (ioctl(out, FICLONE_REQUEST, in) == 0)
        return;
    off_t left = (off_t)g_size;
    lseek(in, 0, SEEK_SET);
    while (left > 0)
    {
        long n = syscall(SYS_copy_file_range, in, NULL, out, NULL, (size_t)left, 0u);
        if (n <= 0)
            die("copy_file_range");
        left -= n;
    }
    fchmod(out, 0644);
    struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000, 0 } };
    futimens(out, times);
    if (g_durable && fsync(out) != 0)
        die("fsync");
}

/* The data written and waited for, without a flush of its own: the directory's flush after the rename
   commits the journal, whose cache flush and ordered commits cover the data and the new inode. */
static void fill_written(int in, int out)
{
    int durable = g_durable;
    g_durable = 0;
    fill(in, out);
    g_durable = durable;
    if (durable && sync_file_range(out, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                              SYNC_FILE_RANGE_WAIT_AFTER) != 0)
        die("sync_file_range");
}

static void sync_dir(void)
{
    if (!g_durable)
        return;
    int fd = open(g_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        die("fsync of the directory");
    close(fd);
}

static int unnamed(void)
{
    int fd = open(g_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0)
        die("O_TMPFILE");
    return fd;
}

static int named(void)
{
    int fd = open(g_tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        die("open of the temp");
    return fd;
}

static void link_to(int fd, const char* path)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
        die("linkat");
}

static void rename2(const char* from, const char* to, unsigned flags)
{
    if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags) != 0)
        die("renameat2");
}

static void finish(int fd)
{
    close(fd);
    sync_dir();
}

static void inplace(int in)
{
    int out = open(g_dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0)
        die("open of the destination");
    fill(in, out);
    finish(out);
}

static void tmp_rename(int in) { int t = unnamed(); fill(in, t); link_to(t, g_tmp); rename2(g_tmp, g_dst, 0); finish(t); }
static void tmp_rename_1(int in) { int t = unnamed(); fill_written(in, t); link_to(t, g_tmp); rename2(g_tmp, g_dst, 0); finish(t); }
static void new_tmplink_1(int in) { int t = unnamed(); fill_written(in, t); link_to(t, g_dst); finish(t); }
static void named_rename(int in) { int t = named(); fill(in, t); rename2(g_tmp, g_dst, 0); finish(t); }
static void tmp_exchange(int in)
{
    int t = unnamed();
    fill(in, t);
    link_to(t, g_tmp);
    rename2(g_tmp, g_dst, RENAME_EXCHANGE);
    unlink(g_tmp);
    finish(t);
}
static void named_exchange(int in)
{
    int t = named();
    fill(in, t);
    rename2(g_tmp, g_dst, RENAME_EXCHANGE);
    unlink(g_tmp);
    finish(t);
}
static void new_plain(int in)
{
    int out = open(g_dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0)
        die("open of the destination");
    fill(in, out);
    finish(out);
}
static void new_tmplink(int in) { int t = unnamed(); fill(in, t); link_to(t, g_dst); finish(t); }
static void new_named(int in) { int t = named(); fill(in, t); rename2(g_tmp, g_dst, RENAME_NOREPLACE); finish(t); }

static const struct way { const char* name; void (*copy)(int); int fresh; } g_ways[] = {
    { "inplace", inplace, 0 }, { "tmp_rename", tmp_rename, 0 }, { "named_rename", named_rename, 0 },
    { "tmp_exchange", tmp_exchange, 0 }, { "named_exchange", named_exchange, 0 },
    { "new_plain", new_plain, 1 }, { "new_tmplink", new_tmplink, 1 }, { "new_named", new_named, 1 },
    { "tmp_rename_1", tmp_rename_1, 0 }, { "new_tmplink_1", new_tmplink_1, 1 },
};
#define WAYS (sizeof g_ways / sizeof g_ways[0])
#define MAX_ROUNDS 64

static int by_value(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static void make_source(void)
{
    int fd = open(g_src, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    char* block = malloc(1 << 20);
    if (fd < 0 || block == NULL)
        die("the source");
    for (size_t i = 0; i < (1u << 20); i++)
        block[i] = (char)(i * 2654435761u >> 13);
    for (size_t done = 0; done < g_size;)
    {
        size_t n = g_size - done < (1u << 20) ? g_size - done : (1u << 20);
        if (write(fd, block, n) != (ssize_t)n)
            die("write of the source");
        done += n;
    }
    fsync(fd);
    close(fd);
    free(block);
}

int main(int argc, char** argv)
{
    if (argc < 5)
    {
        fprintf(stderr, "usage: copy_paths <directory> <size> <iterations> <durable 0|1> [rounds]\n");
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    g_size = strtoull(argv[2], NULL, 0);
    int iterations = atoi(argv[3]);
    g_durable = atoi(argv[4]);
    int rounds = argc > 5 ? atoi(argv[5]) : 5;
    if (rounds < 1 || rounds > MAX_ROUNDS || iterations < 1)
        return 2;
    snprintf(g_src, sizeof g_src, "%s/src", g_dir);
    snprintf(g_dst, sizeof g_dst, "%s/dst", g_dir);
    snprintf(g_tmp, sizeof g_tmp, "%s/.tmp", g_dir);
    make_source();
    static double means[WAYS][MAX_ROUNDS];
    for (int r = 0; r < rounds; r++) /* the ways interleaved, round after round */
        for (size_t w = 0; w < WAYS; w++)
        {
            int in = open(g_src, O_RDONLY | O_CLOEXEC);
            if (!g_ways[w].fresh)
                inplace(in); /* a destination to replace */
            double total = 0;
            for (int i = 0; i < iterations; i++)
            {
                if (g_ways[w].fresh)
                    unlink(g_dst);
                unlink(g_tmp);
                double start = now_us();
                g_ways[w].copy(in);
                total += now_us() - start;
            }
            close(in);
            means[w][r] = total / iterations;
        }
    for (size_t w = 0; w < WAYS; w++)
    {
        qsort(means[w], (size_t)rounds, sizeof means[w][0], by_value);
        printf("%-15s %10.1f us\n", g_ways[w].name, means[w][rounds / 2]);
    }
    unlink(g_dst);
    unlink(g_src);
    unlink(g_tmp);
    return 0;
}
