/*
 * The recorded workload: sources and generation-0 destinations written and flushed first, then
 * PC_GENERATIONS rounds of copies (replacing small and large files, and making new ones), each copy between
 * a "start" and a "done" MARK in the log, so that the replay knows which copies had returned at any point.
 */
#define _GNU_SOURCE
#include "powercut.h"

#include "noinherit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

const struct pc_file pc_files[] = {
    { "d/small", 4096, 0 },        /* replaced: one block */
    { "d/odd", 10000, 0 },         /* replaced: a partial last block */
    { "d/large", 1u << 20, 0 },    /* replaced: many blocks */
    { "d/new", 8192, 1 },          /* a new file each generation: d/new.<gen> */
};
const size_t pc_file_count = sizeof pc_files / sizeof pc_files[0];

void pc_fill(char* buffer, size_t size, size_t offset, size_t index, int gen)
{
    for (size_t i = 0; i < size; i++)
    {
        size_t at = offset + i;
        uint64_t x = ((uint64_t)index << 56) ^ ((uint64_t)(gen + 1) << 48) ^ (at / 64) * 0x9e3779b97f4a7c15u;
        x ^= x >> 29;
        buffer[i] = (char)(x >> (8 * (at % 8)));
    }
}

void pc_source_name(char* out, size_t size, size_t index, int gen)
{
    snprintf(out, size, "src/%zu.%d", index, gen);
}

void pc_destination_name(char* out, size_t size, size_t index, int gen)
{
    if (pc_files[index].fresh)
        snprintf(out, size, "%s.%d", pc_files[index].name, gen);
    else
        snprintf(out, size, "%s", pc_files[index].name);
}

/* Writes a generation's content to `path` and flushes it. */
static int write_generation(const char* path, size_t index, int gen)
{
    size_t size = pc_files[index].size;
    char* data = malloc(size);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = data != NULL && fd >= 0;
    if (ok)
    {
        pc_fill(data, size, 0, index, gen);
        ok = write(fd, data, size) == (ssize_t)size && fsync(fd) == 0;
    }
    if (fd >= 0)
        close(fd);
    free(data);
    if (!ok)
        fprintf(stderr, "powercut: writing %s: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

static int sync_directory(const char* path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc;
}

/* What a crash between the temp's link at its slot and the swap leaves for d/small: its temp at the slot,
   ".ni-copy-<FNV-1a 64 of "small">.tmp", holding the new data. The first copy to d/small must remove it,
   and the checker sees it in the crash states before that (strays_found). */
static int plant_leftover(void)
{
    uint64_t hash = 0xcbf29ce484222325u;
    for (const char* p = "small"; *p != '\0'; p++)
        hash = (hash ^ (unsigned char)*p) * 0x100000001b3u;
    char path[64];
    snprintf(path, sizeof path, "d/.ni-copy-%016llx.tmp", (unsigned long long)hash);
    return write_generation(path, 0, 1);
}

/* Everything the copies read, and the generation-0 destinations, on stable storage before the first copy; the
   syncfs also writes what no fsync writes on ext4 without a journal (the bitmaps, the group descriptors), so
   that e2fsck's repairs in the crash states are the copies' doing. */
static int setup(void)
{
    if (mkdir("src", 0755) != 0 || mkdir("d", 0755) != 0)
        return -1;
    char path[64];
    for (size_t i = 0; i < pc_file_count; i++)
    {
        for (int gen = 1; gen <= PC_GENERATIONS + 1; gen++) /* the last one is for the checker's next copy */
        {
            pc_source_name(path, sizeof path, i, gen);
            if (write_generation(path, i, gen) != 0)
                return -1;
        }
        if (!pc_files[i].fresh && write_generation(pc_files[i].name, i, 0) != 0)
            return -1;
    }
    int root = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = plant_leftover() == 0 && sync_directory("src") == 0 && sync_directory("d") == 0 &&
             sync_directory(".") == 0 && root >= 0 && syncfs(root) == 0 ? 0 : -1;
    if (root >= 0)
        close(root);
    return rc;
}

static int mark(const char* what, size_t index, int gen)
{
    char message[96];
    snprintf(message, sizeof message, "mark %s:%zu:%d", what, index, gen); /* one word: the target splits on spaces */
    return pc_dm_message("pc-log", message);
}

static int run_copies(int durable)
{
    char source[64], destination[64];
    for (int gen = 1; gen <= PC_GENERATIONS; gen++)
    {
        for (size_t i = 0; i < pc_file_count; i++)
        {
            pc_source_name(source, sizeof source, i, gen);
            pc_destination_name(destination, sizeof destination, i, gen);
            int32_t flags = (pc_files[i].fresh ? 0 : NI_COPY_OVERWRITE) | (durable ? NI_COPY_DURABLE : 0);
            if (mark("start", i, gen) != 0)
                return -1;
            int32_t rc = ni_copyfile(source, destination, flags);
            if (rc != 0)
            {
                fprintf(stderr, "powercut: copy %s -> %s: %s\n", source, destination, strerror(rc));
                return -1;
            }
            if (mark("done", i, gen) != 0)
                return -1;
        }
    }
    return 0;
}

int pc_record(const struct pc_fs* fs, int durable, const char* data, const char* log)
{
    uint64_t sectors = pc_device_sectors(data);
    char params[128], device[32];
    unsigned minor;
    snprintf(params, sizeof params, "%s %s", data, log);
    if (sectors == 0 || pc_dm_create("pc-log", "log-writes", params, sectors, &minor) != 0)
        return -1;
    snprintf(device, sizeof device, "/dev/dm-%u", minor);
    mkdir("/mnt", 0755);
    int rc = -1;
    if (mount(device, "/mnt", fs->type, 0, fs->record_options) != 0)
        fprintf(stderr, "powercut: mount %s (%s, %s): %s\n", device, fs->type, fs->record_options, strerror(errno));
    else
    {
        rc = chdir("/mnt") == 0 && setup() == 0 && pc_dm_message("pc-log", "mark setup-done") == 0 &&
             run_copies(durable) == 0 ? 0 : -1;
        if (chdir("/") != 0 || umount("/mnt") != 0)
            rc = -1;
    }
    if (pc_dm_remove("pc-log") != 0)
        rc = -1;
    return rc;
}
