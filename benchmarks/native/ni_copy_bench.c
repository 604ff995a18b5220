/*
 * ni_copyfile against the system calls File.Copy makes on Linux (.NET's SystemNative_CopyFile and the FileStream
 * opens around it: open, fstat, flock, open O_TRUNC, flock, FICLONE else copy_file_range, fchmod, futimens), and,
 * with NI_COPY_DURABLE, against those followed by an fsync of the file and of its directory: replacing an existing
 * destination, in one directory, the two interleaved round after round so that a busy machine slows both alike.
 *
 *   ni_copy_bench <directory> <size> <iterations> <durable 0|1> [rounds]
 * prints the median over the rounds of each side's mean time per copy and the median of the per-round ratios, then
 * what each side asked of the block device per copy over all rounds (write, flush and discard requests, from
 * /sys/dev/block/<device>/stat of the directory's device; other I/O on that device meanwhile counts too).
 *
 * Durable, it also times a floor: File.Copy + fsync of the file, then one block more written in place and flushed
 * (instead of the directory's fsync, which only flushes). A replace that is atomic and durable must make at least
 * those requests: the new file on the disk, a flush, the directory entry that names it, a flush. No such copy can be
 * faster than the floor on the same disk, however little it computes.
 */
#define _GNU_SOURCE
#include "noinherit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define FICLONE_REQUEST 0x40049409 /* _IOW(0x94, 9, int) */
#define MAX_ROUNDS 64

static char g_dir[512], g_src[600], g_dst[600], g_block[600], g_block_data[4096];
static int g_durable;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void fsync_path(const char* path, int flags)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0 || fsync(fd) != 0)
        exit(1);
    close(fd);
}

/* File.Copy(source, destination, overwrite: true), system call for system call. */
static void bcl_calls(void)
{
    int in = open(g_src, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (in < 0 || fstat(in, &st) != 0 || flock(in, LOCK_SH | LOCK_NB) != 0)
        exit(1);
    int out = open(g_dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, st.st_mode & 0777);
    if (out < 0 || flock(out, LOCK_EX | LOCK_NB) != 0)
        exit(1);
    if (ioctl(out, FICLONE_REQUEST, in) != 0)
        for (off_t left = st.st_size; left > 0;)
        {
            long n = syscall(SYS_copy_file_range, in, NULL, out, NULL, (size_t)left, 0u);
            if (n <= 0)
                exit(1);
            left -= n;
        }
    fchmod(out, st.st_mode & 0777);
    struct timespec times[2] = { st.st_atim, st.st_mtim };
    futimens(out, times);
    close(out);
    close(in);
}

/* File.Copy, then the caller's fsyncs when durable. */
static void bcl_copy(void)
{
    bcl_calls();
    if (g_durable)
    {
        fsync_path(g_dst, 0);
        fsync_path(g_dir, O_DIRECTORY);
    }
}

/* The floor: File.Copy + fsync of the file, then one block of a file already on the disk rewritten and flushed. */
static void floor_copy(void)
{
    bcl_calls();
    fsync_path(g_dst, 0);
    int fd = open(g_block, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || pwrite(fd, g_block_data, sizeof g_block_data, 0) != (ssize_t)sizeof g_block_data || fdatasync(fd) != 0)
        exit(1);
    close(fd);
}

static void ni_copy(void)
{
    if (ni_copyfile(g_src, g_dst, NI_COPY_OVERWRITE | (g_durable ? NI_COPY_DURABLE : 0)) != 0)
        exit(1);
}

/* The block device's request counters: writes, discards, flushes (fields 5, 12 and 16 of its stat file). */
struct io_counts
{
    double writes, discards, flushes;
};
static char g_stat[128];

static struct io_counts io_now(void)
{
    struct io_counts c = { 0, 0, 0 };
    FILE* f = g_stat[0] != '\0' ? fopen(g_stat, "re") : NULL;
    unsigned long long v[17] = { 0 };
    for (int i = 0; f != NULL && i < 17 && fscanf(f, "%llu", &v[i]) == 1; i++) { }
    if (f != NULL)
        fclose(f);
    c.writes = (double)v[4];
    c.discards = (double)v[11];
    c.flushes = (double)v[15];
    return c;
}

static double mean_us(void (*copy)(void), int iterations, struct io_counts* io)
{
    struct io_counts before = io_now();
    double start = now_us();
    for (int i = 0; i < iterations; i++)
        copy();
    double elapsed = now_us() - start;
    struct io_counts after = io_now();
    io->writes += after.writes - before.writes;
    io->discards += after.discards - before.discards;
    io->flushes += after.flushes - before.flushes;
    return elapsed / iterations;
}

static int by_value(const void* a, const void* b)
{
    double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

static double median(double* values, int count)
{
    qsort(values, (size_t)count, sizeof *values, by_value);
    return values[count / 2];
}

int main(int argc, char** argv)
{
    if (argc < 5)
    {
        fprintf(stderr, "usage: ni_copy_bench <directory> <size> <iterations> <durable 0|1> [rounds]\n");
        return 2;
    }
    snprintf(g_dir, sizeof g_dir, "%s", argv[1]);
    size_t size = strtoull(argv[2], NULL, 0);
    int iterations = atoi(argv[3]), rounds = argc > 5 ? atoi(argv[5]) : 9;
    g_durable = atoi(argv[4]);
    if (iterations < 1 || rounds < 1 || rounds > MAX_ROUNDS)
        return 2;
    snprintf(g_src, sizeof g_src, "%s/ni-copy-bench-src", g_dir);
    snprintf(g_dst, sizeof g_dst, "%s/ni-copy-bench-dst", g_dir);
    snprintf(g_block, sizeof g_block, "%s/ni-copy-bench-block", g_dir);
    FILE* f = fopen(g_src, "we");
    for (size_t i = 0; f != NULL && i < size; i++)
        fputc((int)(i * 2654435761u >> 13) & 0xff, f);
    if (f == NULL || fclose(f) != 0)
        return 1;
    bcl_copy(); /* a destination to replace */
    int block = open(g_block, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); /* the floor's block, on the disk */
    if (block < 0 || pwrite(block, g_block_data, sizeof g_block_data, 0) != (ssize_t)sizeof g_block_data || fsync(block) != 0 || close(block) != 0)
        return 1;
    struct stat dir_st;
    if (stat(g_dir, &dir_st) == 0) /* a flush is counted by the whole disk only: a partition's stat is used if any */
        snprintf(g_stat, sizeof g_stat, "/sys/dev/block/%u:%u/stat", major(dir_st.st_dev), minor(dir_st.st_dev));
    static double bcl[MAX_ROUNDS], ni[MAX_ROUNDS], ratio[MAX_ROUNDS], floor[MAX_ROUNDS], floor_ratio[MAX_ROUNDS];
    struct io_counts bcl_io = { 0, 0, 0 }, ni_io = { 0, 0, 0 }, floor_io = { 0, 0, 0 };
    for (int r = 0; r < rounds; r++)
    {
        bcl[r] = mean_us(bcl_copy, iterations, &bcl_io);
        ni[r] = mean_us(ni_copy, iterations, &ni_io);
        ratio[r] = ni[r] / bcl[r];
        if (g_durable)
        {
            floor[r] = mean_us(floor_copy, iterations, &floor_io);
            floor_ratio[r] = floor[r] / bcl[r];
        }
    }
    printf("%-10s %9zu %-8s File.Copy%s %10.1f us   ni_copyfile %10.1f us   ratio %.2f\n", g_dir, size,
           g_durable ? "durable" : "plain", g_durable ? "+fsync" : "", median(bcl, rounds), median(ni, rounds),
           median(ratio, rounds));
    double copies = (double)rounds * iterations;
    printf("%-10s %9s per copy: File.Copy%s writes %.1f flushes %.1f discards %.1f   ni_copyfile writes %.1f "
           "flushes %.1f discards %.1f\n", "", "", g_durable ? "+fsync" : "", bcl_io.writes / copies,
           bcl_io.flushes / copies, bcl_io.discards / copies, ni_io.writes / copies, ni_io.flushes / copies,
           ni_io.discards / copies);
    if (g_durable)
        printf("%-10s %9s floor: File.Copy+fsync, then one block more written and flushed %10.1f us   ratio %.2f   "
               "writes %.1f flushes %.1f discards %.1f\n", "", "", median(floor, rounds), median(floor_ratio, rounds),
               floor_io.writes / copies, floor_io.flushes / copies, floor_io.discards / copies);
    unlink(g_block);
    unlink(g_src);
    unlink(g_dst);
    return 0;
}
