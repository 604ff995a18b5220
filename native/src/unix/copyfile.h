/* The parts of the copy engine (ni_copyfile), shared by its three files: copyfile.c (the destination's
   cases), copy_data.c (moving the bytes) and copy_temp.c (the temporary file and putting it in place). */
#ifndef NI_COPYFILE_H
#define NI_COPYFILE_H

#include "unix.h"

/* The state of one copy: the method in use, whether it has written anything, and the progress. */
struct ni_copy
{
    int method;
    int method_wrote;   /* the method in use has copied bytes: its errors are real from now on */
    int cloned;         /* the data is a reflink of the source's: nothing of it waits in the page cache */
    int64_t position;   /* bytes of the source done (holes skipped count as done) */
    int64_t reported;   /* the last value given to the callback, -1 before the first */
    ni_copy_progress progress;
    void* state;
    char* buffer;       /* read/write buffer, allocated on first use */
};

void ni_copy_init(struct ni_copy* c, ni_copy_progress progress, void* state);
void ni_copy_free(struct ni_copy* c);
/* All of the source (from its current offset) into `out`, which is empty when `fresh`; the callback is
   called with 0 first and with the full size last. */
int32_t ni_copy_data(struct ni_copy* c, int in, int out, const struct stat* in_st, int fresh);
/* As File.Copy: the permission bits whatever the umask (no setuid/setgid/sticky) and the modification
   time. A file system that cannot store them (EPERM) does not fail the copy. */
int32_t ni_copy_metadata(int out, const struct stat* in_st);

/* The temporary copy: an O_TMPFILE (no name, nothing left behind whatever happens to the process) or,
   where the file system cannot, a named file that the copy removes on failure. A named temp is flock'ed
   for as long as it has its name, so that another copy can tell a crash's leftover (unlocked) from it. */
struct ni_temp
{
    int fd;     /* the temp, open (for a named temp after ni_temp_finish: a duplicate holding its lock) */
    int dir_fd; /* its directory, open to be flushed (durable copies), or -1 */
    int locked; /* an O_TMPFILE's lock is taken (before it gets a name) */
    char* dir;
    char* path; /* the temp's name; NULL while an O_TMPFILE has none */
};

/* A temp in the directory of `destination` (which is opened too when `durable`). On failure the caller
   still calls ni_temp_discard. */
int32_t ni_temp_create(struct ni_temp* t, const char* destination, int durable);
/* Flushes the temp's data and metadata to stable storage (a durable copy, before `target` gets the file), an
   O_TMPFILE linked at its slot first, while the data write the caller started is under way; on ext4 with a
   journal and on XFS waits for its data only, for the directory's flush to commit with the name. */
int32_t ni_temp_sync(struct ni_temp* t, const char* target);
/* Ends the writing: a named temp is closed, so that a deferred write error (NFS reports them at close)
   fails the copy before the destination gets the file. */
int32_t ni_temp_finish(struct ni_temp* t);
/* Puts the finished temp at `target` (replacing it only if `overwrite`): 0, or an errno with the temp
   still there (for the caller to discard, or to copy from). `target_locked`: the target exists and the
   caller holds its exclusive lock; `swap`: its data may still be only in the page cache, so a replace that
   would start its writeback (ext4) swaps the names instead. */
int32_t ni_temp_publish(struct ni_temp* t, const char* target, int overwrite, int target_locked, int swap);
/* Flushes the directory's entries (a durable copy, after the publish). */
int32_t ni_temp_sync_directory(struct ni_temp* t);
/* Removes whatever is left of the temp (an O_TMPFILE disappears with its descriptor). */
void ni_temp_discard(struct ni_temp* t);

/* The file a destination path finally names: its symlinks (of the last component) followed as open()
   follows them, a dangling one to the path it points at (malloc'd). File.Copy writes through a symlink,
   so the copy replaces the link's target, not the link. */
int32_t ni_resolve_destination(const char* destination, char** target);

#endif
