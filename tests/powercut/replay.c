/*
 * The replay of a dm-log-writes log (format: the kernel's Documentation/admin-guide/device-mapper/
 * log-writes.rst; a super block at 0, then one sector per entry, followed by the entry's data for a write)
 * onto a pristine copy of the data device, stopping at every crash state chosen: after every flush or FUA
 * write (what a cache flush made durable) and at up to PC_BETWEEN points between two of them (a prefix of
 * the writes that were still in the device's cache; every write for the copies that do not flush). Each state is mounted through a throw-away snapshot
 * (the file system's recovery writes to it, not to the replay), checked, and dropped.
 */
#define _GNU_SOURCE
#include "powercut.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_MAGIC 0x6a736677736872ull
#define LOG_FLUSH (1u << 0)
#define LOG_FUA (1u << 1)
#define LOG_DISCARD (1u << 2)
#define LOG_MARK (1u << 3)
#define PC_BETWEEN 4

struct log_super { uint64_t magic, version, nr_entries; uint32_t sectorsize; } __attribute__((packed));
struct log_entry { uint64_t sector, nr_sectors, flags, data_len; };

struct entry
{
    uint64_t at;        /* byte offset of its header in the log */
    uint64_t sector, nr_sectors, flags;
    char mark[64];      /* a MARK's text */
    int check;          /* a crash state to check after this entry */
};

struct log
{
    int fd;
    uint32_t sectorsize;
    uint64_t count, discards;
    struct entry* entries;
};

static int read_log(const char* path, struct log* log)
{
    struct log_super super;
    log->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (log->fd < 0 || pread(log->fd, &super, sizeof super, 0) != (ssize_t)sizeof super || super.magic != LOG_MAGIC)
    {
        fprintf(stderr, "powercut: %s is not a log-writes log\n", path);
        return -1;
    }
    log->sectorsize = super.sectorsize;
    log->count = super.nr_entries;
    log->discards = 0;
    log->entries = calloc(log->count + 1, sizeof *log->entries);
    uint64_t at = super.sectorsize;
    char block[4096];
    for (uint64_t i = 0; log->entries != NULL && i < log->count; i++)
    {
        struct entry* e = &log->entries[i];
        if (pread(log->fd, block, log->sectorsize, (off_t)at) != (ssize_t)log->sectorsize)
            return -1;
        struct log_entry header;
        memcpy(&header, block, sizeof header);
        e->at = at;
        e->sector = header.sector;
        e->nr_sectors = header.nr_sectors;
        e->flags = header.flags;
        log->discards += (e->flags & LOG_DISCARD) != 0;
        if ((e->flags & LOG_MARK) && header.data_len < sizeof e->mark)
            memcpy(e->mark, block + sizeof header, header.data_len);
        at += log->sectorsize;
        if (!(e->flags & (LOG_DISCARD | LOG_MARK)))
            at += e->nr_sectors * log->sectorsize;
    }
    return log->entries != NULL ? 0 : -1;
}

/* The crash states: after setup, every flush or FUA entry, PC_BETWEEN writes evenly between two of them,
   and the end; without NI_COPY_DURABLE (few flushes, the data written late and in any order) every write. */
static long choose_states(struct log* log, int durable)
{
    uint64_t first = 0, last_flush = 0;
    for (uint64_t i = 0; i < log->count && first == 0; i++)
        if (strcmp(log->entries[i].mark, "setup-done") == 0)
            first = last_flush = i;
    long chosen = 0;
    for (uint64_t i = first; first > 0 && i < log->count; i++)
    {
        struct entry* e = &log->entries[i];
        if (!(e->flags & (LOG_FLUSH | LOG_FUA)) && i + 1 < log->count)
            continue;
        uint64_t writes = 0;
        for (uint64_t j = last_flush + 1; j < i; j++)
            writes += !(log->entries[j].flags & LOG_MARK);
        uint64_t step = writes / (PC_BETWEEN + 1) + 1, seen = 0;
        for (uint64_t j = last_flush + 1; j < i; j++)
            if (!(log->entries[j].flags & LOG_MARK) && (!durable || (++seen % step == 0 && seen < writes)))
                log->entries[j].check = 1;
        e->check = 1;
        last_flush = i;
    }
    for (uint64_t i = 0; i < log->count; i++)
        chosen += log->entries[i].check;
    return chosen;
}

static int apply(struct log* log, const struct entry* e, int out, char** buffer, size_t* capacity)
{
    if (e->flags & LOG_MARK || e->nr_sectors == 0)
        return 0;
    size_t length = (size_t)(e->nr_sectors * log->sectorsize);
    if (length > *capacity)
    {
        free(*buffer);
        *capacity = length;
        if ((*buffer = malloc(length)) == NULL)
            return -1;
    }
    if (e->flags & LOG_DISCARD)
        memset(*buffer, 0, length); /* the worst a discard may read back as */
    else if (pread(log->fd, *buffer, length, (off_t)(e->at + log->sectorsize)) != (ssize_t)length)
        return -1;
    return pwrite(out, *buffer, length, (off_t)(e->sector * log->sectorsize)) == (ssize_t)length ? 0 : -1;
}

/* Mounts the state now on `replay` through a snapshot and checks it. */
static void check_state(const struct pc_fs* fs, int durable, const char* replay, const char* cow, const int* done,
                        const int* started, struct pc_stats* stats, uint64_t index)
{
    char params[128], device[32], where[64];
    unsigned minor;
    snprintf(where, sizeof where, "%s entry %llu", fs->name, (unsigned long long)index);
    snprintf(params, sizeof params, "%s %s N 8", replay, cow);
    stats->states++;
    if (pc_dm_create("pc-snap", "snapshot", params, pc_device_sectors(replay), &minor) != 0)
    {
        stats->violations++;
        return;
    }
    snprintf(device, sizeof device, "/dev/dm-%u", minor);
    if (!fs->journal && pc_fsck(device, stats, where) != 0)
        stats->violations++;
    else if (mount(device, "/check", fs->type, 0, NULL) != 0)
    {
        stats->unmountable++;
        stats->violations++;
        printf("PC-VIOLATION %s: the file system does not mount: %s\n", where, strerror(errno));
    }
    else
    {
        pc_check_state("/check", fs, durable, done, started, stats, where);
        if (umount("/check") != 0)
            stats->violations++;
    }
    pc_dm_remove("pc-snap");
}

/* A mark "start:<index>:<gen>" or "done:<index>:<gen>". */
static void follow_mark(const char* mark, int* done, int* started)
{
    char what[16];
    size_t index;
    int gen;
    if (sscanf(mark, "%15[a-z]:%zu:%d", what, &index, &gen) == 3 && index < pc_file_count)
        (strcmp(what, "done") == 0 ? done : started)[index] = gen;
}

int pc_replay(const struct pc_fs* fs, int durable, const char* log_path, const char* replay, const char* cow)
{
    struct log log;
    if (read_log(log_path, &log) != 0)
        return -1;
    long chosen = choose_states(&log, durable);
    int out = open(replay, O_WRONLY | O_CLOEXEC);
    if (out < 0 || chosen == 0)
        return -1;
    mkdir("/check", 0755);
    int done[16] = { 0 }, started[16] = { 0 };
    struct pc_stats stats;
    memset(&stats, 0, sizeof stats);
    char* buffer = NULL;
    size_t capacity = 0;
    for (uint64_t i = 0; i < log.count; i++)
    {
        const struct entry* e = &log.entries[i];
        if (apply(&log, e, out, &buffer, &capacity) != 0)
            return -1;
        if (e->flags & LOG_MARK)
            follow_mark(e->mark, done, started);
        if (e->check && fdatasync(out) == 0)
            check_state(fs, durable, replay, cow, done, started, &stats, i);
    }
    printf("PC-RESULT fs=%s mode=%s entries=%llu discards=%llu states=%ld violations=%ld unmountable=%ld "
           "repaired=%ld repaired_files=%ld current=%ld not_yet_durable=%ld lost=%ld foreign=%ld torn=%ld "
           "strays_found=%ld strays_left=%ld\n",
           fs->name, durable ? "durable" : "not-durable", (unsigned long long)log.count,
           (unsigned long long)log.discards, stats.states, stats.violations, stats.unmountable, stats.repaired,
           stats.repaired_files, stats.current, stats.not_yet_durable, stats.lost, stats.foreign, stats.torn,
           stats.strays_found, stats.strays_left);
    free(buffer);
    close(out);
    /* Without NI_COPY_DURABLE some state must show a returned copy not (yet) on disk: else this check,
       run on the durable copies, would have proved nothing either. */
    if (!durable && stats.not_yet_durable + stats.lost == 0)
    {
        printf("PC-VIOLATION %s: no state showed a copy that returned but was not on disk: the check is blind\n",
               fs->name);
        return 1;
    }
    return stats.violations == 0 ? 0 : 1;
}
