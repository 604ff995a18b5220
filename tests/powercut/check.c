/*
 * One crash state, mounted: what each destination holds against what the log's marks say had returned
 * (durable: the generation of the last copy that returned, or the one in flight; never a mix, never empty;
 * without durable, never a mix either where a journal orders the writes), and whether the next copy of each
 * destination removes every temp a crash left.
 */
#define _GNU_SOURCE
#include "powercut.h"

#include "noinherit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int all_zero(const char* p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* How `actual` (n bytes) compares with generation `gen`: the generation, PC_ZEROED (its blocks, some of
   them zeros: allocated but not written), PC_SHORT (a prefix of it), or PC_TORN (not it). */
static int compare(const char* actual, size_t n, char* expected, size_t size, size_t index, int gen)
{
    size_t length = n < size ? n : size;
    pc_fill(expected, length, 0, index, gen);
    int zeros = 0;
    for (size_t at = 0; at < length; at += 4096)
    {
        size_t block = length - at < 4096 ? length - at : 4096;
        if (memcmp(actual + at, expected + at, block) == 0)
            continue;
        if (!all_zero(actual + at, block))
            return PC_TORN;
        zeros = 1;
    }
    if (n > size)
        return PC_TORN;
    return n < size ? PC_SHORT : zeros ? PC_ZEROED : gen;
}

/* Another file's inode: the size of another file than `index`, and a whole generation of it or zeros (its
   blocks discarded or not written yet)? */
static int foreign(const char* actual, size_t n, char* expected, size_t index)
{
    for (size_t other = 0; other < pc_file_count; other++)
        for (int gen = 0; other != index && n == pc_files[other].size && gen <= PC_GENERATIONS + 1; gen++)
        {
            int class = compare(actual, n, expected, n, other, gen);
            if (class == gen || class == PC_ZEROED) /* all zeros included */
                return 1;
        }
    return 0;
}

int pc_classify(const char* path, size_t index)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PC_MISSING;
    size_t largest = 0;
    for (size_t i = 0; i < pc_file_count; i++)
        largest = pc_files[i].size > largest ? pc_files[i].size : largest;
    char* actual = malloc(largest + 1);
    char* expected = malloc(largest);
    ssize_t n = actual != NULL ? read(fd, actual, largest + 1) : -1; /* one read: a regular file's whole */
    close(fd);
    int result = n == 0 ? PC_EMPTY : PC_TORN;
    for (int gen = 0; n > 0 && expected != NULL && gen <= PC_GENERATIONS + 1 && result == PC_TORN; gen++)
        result = compare(actual, (size_t)n, expected, pc_files[index].size, index, gen);
    if (result == PC_TORN && n > 0 && expected != NULL && foreign(actual, (size_t)n, expected, index))
        result = PC_FOREIGN;
    free(actual);
    free(expected);
    return result;
}

static const char* describe(int class, char* buffer, size_t size)
{
    switch (class)
    {
        case PC_MISSING: return "nothing";
        case PC_EMPTY: return "an empty file";
        case PC_SHORT: return "a short file";
        case PC_ZEROED: return "the new size with blocks of zeros";
        case PC_FOREIGN: return "another file's inode (its size; its content or zeros)";
        case PC_TORN: return "a mix";
        default: snprintf(buffer, size, "generation %d", class); return buffer;
    }
}

/* The temps in `dir`; each named in a violation line if `where` is given. */
static int count_temps(const char* dir, const char* where)
{
    DIR* d = opendir(dir);
    int count = 0;
    struct dirent* entry;
    while (d != NULL && (entry = readdir(d)) != NULL)
        if (strncmp(entry->d_name, ".ni-copy-", 9) == 0)
        {
            count++;
            if (where != NULL)
                printf("PC-VIOLATION %s: %s/%s survived the next copy\n", where, dir, entry->d_name);
        }
    if (d != NULL)
        closedir(d);
    return count;
}

static void report(struct pc_stats* stats, const char* where, const char* file, int class, const char* expected)
{
    char buffer[32];
    stats->violations++;
    if (stats->violations <= 20)
        printf("PC-VIOLATION %s: %s holds %s, expected %s\n", where, file, describe(class, buffer, sizeof buffer),
               expected);
}

/* The rules of a state: the copies' (RULE_DURABLE), and RULE_WHOLE: a name shows one whole generation of its
   own file, never a mix or another file's content. A journal keeps that for every copy (a directory's blocks
   and the inode table's are committed together); without one, a crash may leave a name on an inode number
   that was freed and given to another file, or the reverse (another file's old inode, its blocks freed and
   reused), which only a durable copy (its directory flushed before it returns, before the next file is made)
   rules out. */
enum { RULE_DURABLE = 1, RULE_WHOLE = 2 };

/* One destination, one generation: `returned` (its copy's "done" mark is in the log) or in flight. */
static void check_one(const char* path, size_t index, int gen, int previous, int returned, int rules,
                      struct pc_stats* stats, const char* where)
{
    int class = pc_classify(path, index);
    int current = class == gen || (!returned && class == previous);
    int durable = rules & RULE_DURABLE;
    if (current)
        stats->current++;
    else if (class == PC_TORN || class == PC_FOREIGN)
    {
        if (class == PC_TORN)
            stats->torn++;
        else
            stats->foreign++;
        if (rules & RULE_WHOLE)
            report(stats, where, path, class, "one whole generation of its own");
    }
    else if (durable)
        report(stats, where, path, class, returned ? "the generation whose copy returned" : "the old or the new one");
    else if (class >= 0 || class == PC_MISSING)
        stats->not_yet_durable++; /* an older whole generation, or a new file not there yet */
    else
        stats->lost++;            /* empty, short or zeros: what a copy that is not durable may leave */
}

/* After the reboot, the copy the crash interrupted is retried, as a program would; plain, as the next copies
   are: a durable copy to a new file names its temp at the destination's slot before the flush, and a copy to
   that name, durable or not, must clear it (the next copies go to other names). It succeeds with the content,
   or finds the destination there (EEXIST: the copy had put it in place). */
static void retry_interrupted(const int* done, const int* started, struct pc_stats* stats, const char* where)
{
    char source[64], destination[64];
    for (size_t i = 0; i < pc_file_count; i++)
    {
        if (!pc_files[i].fresh || started[i] <= done[i])
            continue;
        pc_source_name(source, sizeof source, i, started[i]);
        pc_destination_name(destination, sizeof destination, i, started[i]);
        int32_t rc = ni_copyfile(source, destination, 0);
        if (rc == EEXIST || (rc == 0 && pc_classify(destination, i) == started[i]))
            continue;
        stats->violations++;
        printf("PC-VIOLATION %s: the retry of the copy to %s failed (%s)\n", where, destination, strerror(rc));
    }
}

/* The next copy of every destination must succeed, give the new content and leave no temp behind. */
static void next_copies(const int* done, const int* started, struct pc_stats* stats, const char* where)
{
    char source[64], destination[64];
    int gen = PC_GENERATIONS + 1;
    retry_interrupted(done, started, stats, where);
    for (size_t i = 0; i < pc_file_count; i++)
    {
        pc_source_name(source, sizeof source, i, gen);
        pc_destination_name(destination, sizeof destination, i, gen);
        int32_t rc = ni_copyfile(source, destination, pc_files[i].fresh ? 0 : NI_COPY_OVERWRITE);
        if (rc != 0 || pc_classify(destination, i) != gen)
        {
            stats->violations++;
            printf("PC-VIOLATION %s: the next copy to %s failed (%s)\n", where, destination, strerror(rc));
        }
    }
    int left = count_temps("d", where);
    if (left > 0)
    {
        stats->strays_left += left;
        stats->violations++;
    }
}

int pc_check_state(const char* mnt, const struct pc_fs* fs, int durable, const int* done, const int* started,
                   struct pc_stats* stats, const char* where)
{
    long before = stats->violations;
    int rules = (durable ? RULE_DURABLE : 0) | (durable || fs->journal ? RULE_WHOLE : 0);
    if (chdir(mnt) != 0)
        return 1;
    char path[64];
    for (size_t i = 0; i < pc_file_count; i++)
    {
        if (!pc_files[i].fresh)
        {
            int in_flight = started[i] > done[i];
            check_one(pc_files[i].name, i, in_flight ? started[i] : done[i], done[i], !in_flight, rules, stats,
                      where);
            continue;
        }
        for (int gen = 1; gen <= started[i]; gen++)
        {
            pc_destination_name(path, sizeof path, i, gen);
            check_one(path, i, gen, PC_MISSING, gen <= done[i], rules, stats, where);
        }
    }
    stats->strays_found += count_temps("d", NULL);
    next_copies(done, started, stats, where);
    if (chdir("/") != 0)
        stats->violations++;
    return (int)(stats->violations - before);
}
