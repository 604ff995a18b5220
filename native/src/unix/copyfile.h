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
   where the file system cannot, a named file that the copy removes on failure. */
struct ni_temp
{
    int fd;     /* -1 once a named temp is closed */
    char* dir;
    char* path; /* the temp's name; NULL while an O_TMPFILE has none */
};

/* A temp in the directory of `destination`. On failure the caller still calls ni_temp_discard. */
int32_t ni_temp_create(struct ni_temp* t, const char* destination);
/* Ends the writing: a named temp is closed, so that a deferred write error (NFS reports them at close)
   fails the copy before the destination gets the file. */
int32_t ni_temp_finish(struct ni_temp* t);
/* Puts the finished temp at `target` (replacing it only if `overwrite`): 0, or an errno with the temp
   still there (for the caller to discard, or to copy from). */
int32_t ni_temp_publish(struct ni_temp* t, const char* target, int overwrite, int target_exists);
/* Removes whatever is left of the temp (an O_TMPFILE disappears with its descriptor). */
void ni_temp_discard(struct ni_temp* t);

/* The file a destination path finally names: its symlinks (of the last component) followed as open()
   follows them, a dangling one to the path it points at (malloc'd). File.Copy writes through a symlink,
   so the copy replaces the link's target, not the link. */
int32_t ni_resolve_destination(const char* destination, char** target);

#endif
