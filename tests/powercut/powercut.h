/*
 * The power-cut test (tests/powercut/run.sh): a copy workload recorded block by block with dm-log-writes
 * inside a VM, then every recorded crash state replayed, mounted and checked. This header is what the
 * guest program's files share: the files of the workload, their contents, the device-mapper calls.
 */
#ifndef NI_POWERCUT_H
#define NI_POWERCUT_H

#include <stddef.h>
#include <stdint.h>

/* The destinations of the workload, each replaced `PC_GENERATIONS` times (generation 0 is the file written
   and flushed before the first copy); `fresh` ones are new files each generation (no overwrite). */
struct pc_file
{
    const char* name;   /* path under the mount point */
    size_t size;
    int fresh;
};
#define PC_GENERATIONS 3
extern const struct pc_file pc_files[];
extern const size_t pc_file_count;

/* The content of file `index`, generation `gen`, at `offset`: different for every file, generation and
   64-byte block, so that any mix, shift or truncation shows. */
void pc_fill(char* buffer, size_t size, size_t offset, size_t index, int gen);
/* The name of a generation's source ("src/<index>.<gen>") and of a fresh destination's generation. */
void pc_source_name(char* out, size_t size, size_t index, int gen);
void pc_destination_name(char* out, size_t size, size_t index, int gen);

/* What a file holds: one whole generation (>= 0), or one of these. */
/* PC_ZEROED: a generation's size and blocks, some of them zeros (allocated, not yet written); PC_FOREIGN:
   another file's inode (its size, and a whole generation of it or zeros: the name on an inode number that was
   freed and given to another file, or the reverse); PC_TORN: blocks of different generations, or anything else. */
enum { PC_MISSING = -1, PC_EMPTY = -2, PC_SHORT = -3, PC_ZEROED = -4, PC_FOREIGN = -5, PC_TORN = -6 };
int pc_classify(const char* path, size_t index);

/* ---- dm.c: device-mapper through its ioctls (no dmsetup in the guest) ---- */

/* Creates and activates `name` with one target over the whole `sectors`; *minor is its /dev/dm-<minor>. */
int pc_dm_create(const char* name, const char* target, const char* params, uint64_t sectors, unsigned* minor);
int pc_dm_message(const char* name, const char* message);
int pc_dm_remove(const char* name);
/* The size of a block device in 512-byte sectors, or 0. */
uint64_t pc_device_sectors(const char* path);

/* ---- The file systems (main.c) ---- */

/* A case's file system: its name on the command line, its mount type, the options of the recorded mount
   (ext4-nojournal: "discard", as a machine without a journal typically mounts it), and whether it has a
   journal. Without one (ext4's is the only such case), a crash state is checked with e2fsck before it is
   mounted, as at boot, and a name may be left on an inode number that a new file got (PC_FOREIGN). */
struct pc_fs
{
    const char* name;
    const char* type;
    const char* record_options;
    int journal;
};
const struct pc_fs* pc_fs_named(const char* name);

/* ---- The two phases ---- */

/* Runs the workload on `data` through a log-writes device logging to `log`: `durable` copies or not. */
int pc_record(const struct pc_fs* fs, int durable, const char* data, const char* log);
/* Replays `log` onto `replay` (a pristine copy of the data device) and checks every chosen crash state
   through a snapshot whose changes go to `cow`. */
int pc_replay(const struct pc_fs* fs, int durable, const char* log, const char* replay, const char* cow);
/* Checks one mounted crash state: the files against the marks seen so far, then the next copy of each.
   `done[i]` / `started[i]`: the last generation whose copy returned / began. Returns the violations. */
struct pc_stats
{
    long states, violations, unmountable, repaired, repaired_files;
    long current, not_yet_durable, lost, foreign, torn, strays_found, strays_left;
};
int pc_check_state(const char* mnt, const struct pc_fs* fs, int durable, const int* done, const int* started,
                   struct pc_stats* stats, const char* where);
/* Runs `e2fsck -fy` on an unmounted crash state (fsck.c): 0 if it was clean or repaired (counted in
   stats->repaired; in stats->repaired_files too if a file or directory was, not only the bitmaps and counts),
   -1 if e2fsck left errors (its first lines printed). */
int pc_fsck(const char* device, struct pc_stats* stats, const char* where);

#endif
