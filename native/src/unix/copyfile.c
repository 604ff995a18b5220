/*
 * ni_copyfile / ni_copyfile_ex: a copy that never leaves a partial destination. This file holds the
 * source's side and the destination's cases; copy_data.c moves the bytes, copy_temp.c makes the temporary
 * file and puts it in place (the whole sequence: docs/architecture.md, "The copy engine").
 *
 * An existing destination (NI_COPY_OVERWRITE) is opened for writing first, as File.Copy opens it: for its
 * permission check, the same-file check and the exclusive flock, which is held until the copy is in place.
 * When a regular destination cannot be replaced by a rename (the directory refuses new entries, or the
 * destination is a mount point), the copy is written into it in place, as File.Copy does; a destination
 * that is not a regular file (a device, a FIFO) is always written in place.
 */
#define _GNU_SOURCE
#include "copyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where the copy goes. */
struct destination
{
    char* target;          /* the path put in place: the destination, its symlinks followed when overwriting */
    int overwrite;
    int durable;
    int existing;          /* an existing destination, open for writing and locked, or -1 */
    struct stat existing_st;
};

/* A name with a trailing slash can only be a directory: the answer is open()'s. */
static int32_t refuse_slashed_name(const char* destination, int overwrite)
{
    int fd;
    int32_t error = ni_unix_open(destination, O_WRONLY | O_CREAT | O_EXCL, 0600, &fd);
    if (error == EEXIST && overwrite)
        error = ni_unix_open(destination, O_WRONLY | O_CREAT, 0600, &fd);
    if (error != 0)
        return error;
    close(fd);
    return EISDIR;
}

/* Without NI_COPY_OVERWRITE: any entry at all, a dangling symlink or a directory included, means EEXIST,
   before anything is read; linkat / RENAME_NOREPLACE settle a race with a file created meanwhile. */
static int32_t check_absent(struct destination* d, const char* destination)
{
    struct stat st;
    int32_t error = ni_sys_lstat(destination, &st);
    if (error == 0)
        return EEXIST;
    if (error != ENOENT)
        return error; /* ENOTDIR, ENAMETOOLONG, ELOOP, EACCES: before anything is copied */
    return (d->target = strdup(destination)) == NULL ? ENOMEM : 0;
}

/* With NI_COPY_OVERWRITE: the file File.Copy would write, opened for writing as File.Copy opens it: a
   destination we may not write is refused (EACCES), a directory is EISDIR, the same file is caught (nothing
   was opened with O_TRUNC: it is intact), and the exclusive lock is taken. None there is no error. */
static int32_t open_existing(struct destination* d, const char* destination, const struct stat* in_st)
{
    int32_t error = ni_resolve_destination(destination, &d->target);
    if (error != 0)
        return error;
    error = ni_unix_open(d->target, O_WRONLY | O_NOCTTY, 0, &d->existing);
    if (error != 0)
        return error == ENOENT ? 0 : error;
    if ((error = ni_sys_fstat(d->existing, &d->existing_st)) != 0)
        return error;
    if (d->existing_st.st_dev == in_st->st_dev && d->existing_st.st_ino == in_st->st_ino)
        return EINVAL;
    return ni_unix_lock(d->existing, 1);
}

/* Writes the copy straight into the existing destination: a device or a FIFO, or a regular file that
   cannot be replaced (truncated first), as File.Copy writes it. */
static int32_t copy_in_place(struct ni_copy* c, int in, const struct stat* in_st, const struct destination* d)
{
    int regular = S_ISREG(d->existing_st.st_mode);
    if (regular)
    {
        /* The source's permission bits first, as File.Copy sets them: its data never sits in the
           destination under looser ones. */
        if (fchmod(d->existing, in_st->st_mode & 0777) < 0 && errno != EPERM)
            return errno;
        int rc;
        while ((rc = ftruncate(d->existing, 0)) < 0 && errno == EINTR) { }
        if (rc < 0)
            return errno;
    }
    int32_t error = ni_copy_data(c, in, d->existing, in_st, regular);
    if (error == 0)
        error = ni_copy_metadata(d->existing, in_st);
    return error == 0 && d->durable ? ni_sys_sync(d->existing) : error;
}

/* Whether a failed rename over an existing, writable destination should turn into an in-place copy:
   the directory refuses to change (not writable, sticky) or the destination is a mount point. */
static int replace_refused(int32_t error)
{
    return error == EACCES || error == EPERM || error == EBUSY || error == EXDEV;
}

/* The finished temp could not replace the destination: it is copied into it instead (no progress: the
   callback has seen the whole copy already). `refused` is the answer when even that cannot start. */
static int32_t copy_temp_in_place(struct ni_temp* t, const struct stat* in_st, const struct destination* d,
                                  int32_t refused)
{
    int from = t->fd;
    if (from < 0 && (t->path == NULL || ni_unix_open(t->path, O_RDONLY, 0, &from) != 0))
        return refused;
    int32_t error = refused;
    if (lseek(from, 0, SEEK_SET) == 0)
    {
        struct ni_copy again;
        ni_copy_init(&again, NULL, NULL);
        error = copy_in_place(&again, from, in_st, d);
        ni_copy_free(&again);
    }
    if (from != t->fd)
        ni_unix_close_quietly(from);
    return error;
}

/* The usual way: a temp file, filled (and flushed, for a durable copy) and put in place; then, for a durable
   copy, the directory flushed so that the new name is on stable storage too. */
static int32_t copy_through_temp(struct ni_copy* c, int in, const struct stat* in_st, const struct destination* d)
{
    struct ni_temp t;
    int32_t error = ni_temp_create(&t, d->target, d->durable);
    if (error != 0 && d->existing >= 0 && (error == EACCES || error == EPERM))
    {
        /* The directory takes no new file, but the destination may be written: File.Copy would. */
        ni_temp_discard(&t);
        return copy_in_place(c, in, in_st, d);
    }
    if (error == 0)
        error = ni_copy_data(c, in, t.fd, in_st, 1);
    if (error == 0 && d->durable)
        ni_sys_start_write_out(t.fd); /* the data goes to the disk while the metadata and the temp's name are set */
    if (error == 0)
        error = ni_copy_metadata(t.fd, in_st);
    if (error == 0 && d->durable)
        error = ni_temp_sync(&t, d->target);
    if (error == 0)
        error = ni_temp_finish(&t);
    if (error == 0)
    {
        int locked = d->existing >= 0;
        error = ni_temp_publish(&t, d->target, d->overwrite, locked, !d->durable && !c->cloned);
        if (error != 0 && locked && replace_refused(error))
            error = copy_temp_in_place(&t, in_st, d, error);
        else if (error == 0 && d->durable)
            error = ni_temp_sync_directory(&t);
    }
    ni_temp_discard(&t);
    return error;
}

/* The destination part of a copy whose source is open and locked. */
static int32_t copy_to(int in, const struct stat* in_st, const char* destination, int32_t flags,
                       ni_copy_progress progress, void* state)
{
    size_t length = strlen(destination);
    if (length == 0)
        return ENOENT;
    int overwrite = (flags & NI_COPY_OVERWRITE) != 0;
    if (destination[length - 1] == '/')
        return refuse_slashed_name(destination, overwrite);

    struct destination d = { NULL, overwrite, (flags & NI_COPY_DURABLE) != 0, -1, { 0 } };
    struct ni_copy c;
    ni_copy_init(&c, progress, state);
    int32_t error = overwrite ? open_existing(&d, destination, in_st) : check_absent(&d, destination);
    if (error == 0 && d.existing >= 0 && !S_ISREG(d.existing_st.st_mode))
        error = copy_in_place(&c, in, in_st, &d); /* a device or a FIFO is written to, never replaced */
    else if (error == 0)
        error = copy_through_temp(&c, in, in_st, &d);
    ni_copy_free(&c);
    free(d.target);
    if (d.existing >= 0)
    {
        ni_unix_unlock(d.existing);
        if (close(d.existing) < 0 && errno != EINTR && error == 0)
            error = errno;
    }
    return error;
}

int32_t ni_copyfile_ex(const char* source, const char* destination, int32_t flags, ni_copy_progress progress,
                       void* state)
{
    if (source == NULL || destination == NULL)
        return EINVAL;
    int32_t error = ni_check_copy_flags(flags);
    if (error != 0)
        return error;
    int in;
    if ((error = ni_unix_open(source, O_RDONLY, 0, &in)) != 0)
        return error;
    struct stat in_st;
    if ((error = ni_sys_fstat(in, &in_st)) == 0 && S_ISDIR(in_st.st_mode))
        error = EISDIR;
    if (error == 0 && (error = ni_unix_lock(in, 0)) == 0)
    {
        error = copy_to(in, &in_st, destination, flags, progress, state);
        ni_unix_unlock(in);
    }
    ni_unix_close_quietly(in);
    return error;
}

int32_t ni_copyfile(const char* source, const char* destination, int32_t flags)
{
    return ni_copyfile_ex(source, destination, flags, NULL, NULL);
}
