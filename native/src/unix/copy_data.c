/*
 * Moving the bytes of a copy (ni_copy_data): a reflink of the whole file where the file system shares
 * extents, else copy_file_range, sendfile and a read/write loop, each falling back to the next when it
 * cannot copy between the two files; only the data extents of a sparse source (SEEK_DATA / SEEK_HOLE);
 * progress reported after every chunk. Then the metadata File.Copy keeps.
 */
#define _GNU_SOURCE
#include "copyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

/* The most one kernel call copies (copy_file_range, sendfile): small enough for the progress callback
   to be called (and a cancellation seen) often, large enough that the calls cost nothing. */
#define NI_COPY_CHUNK ((size_t)16 << 20)
/* The read/write buffer of the last-resort loop. */
#define NI_COPY_BUFFER ((size_t)1 << 20)

enum { METHOD_COPY_FILE_RANGE, METHOD_SENDFILE, METHOD_READ_WRITE };

void ni_copy_init(struct ni_copy* c, ni_copy_progress progress, void* state)
{
    c->method = METHOD_COPY_FILE_RANGE;
    c->method_wrote = 0;
    c->cloned = 0;
    c->position = 0;
    c->reported = -1;
    c->progress = progress;
    c->state = state;
    c->buffer = NULL;
}

void ni_copy_free(struct ni_copy* c)
{
    free(c->buffer);
    c->buffer = NULL;
}

static int32_t report(struct ni_copy* c)
{
    if (c->progress == NULL || c->position == c->reported)
        return 0;
    c->reported = c->position;
    return c->progress(c->position, c->state) != 0 ? ECANCELED : 0;
}

/* Whether `error` from the first use of a kernel method means "not between these two files": the
   copy falls back to the next method, having written nothing. */
static int method_unsupported(int method, int32_t error)
{
    if (method == METHOD_READ_WRITE)
        return 0;
    return error == ENOSYS || error == EXDEV || error == EINVAL || error == EPERM || error == ETXTBSY ||
           error == EBADF || ni_unix_not_supported(error);
}

/* One read and the writes it takes (a short write is continued): *copied is 0 at the end. */
static int32_t read_write_once(struct ni_copy* c, int in, int out, size_t want, size_t* copied)
{
    if (c->buffer == NULL && (c->buffer = malloc(NI_COPY_BUFFER)) == NULL)
        return ENOMEM;
    if (want > NI_COPY_BUFFER)
        want = NI_COPY_BUFFER;
    ssize_t n;
    while ((n = read(in, c->buffer, want)) < 0 && errno == EINTR) { }
    if (n < 0)
        return errno;
    for (ssize_t done = 0; done < n;)
    {
        ssize_t w = write(out, c->buffer + done, (size_t)(n - done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w == 0 ? EIO : errno;
        done += w;
    }
    *copied = (size_t)n;
    return 0;
}

/* One call of the method in use. */
static int32_t transfer(struct ni_copy* c, int in, int out, size_t want, size_t* copied)
{
    switch (c->method)
    {
        case METHOD_COPY_FILE_RANGE: return ni_sys_copy_file_range(in, out, want, copied);
        case METHOD_SENDFILE: return ni_sys_sendfile(in, out, want, copied);
        default: return read_write_once(c, in, out, want, copied);
    }
}

/* Copies from the current offset of `in` to the current offset of `out`: `limit` bytes, or to the
   end of the source when limit < 0. Short transfers are continued; the end is a 0-byte result. */
static int32_t copy_stream(struct ni_copy* c, int in, int out, int64_t limit)
{
    while (limit != 0)
    {
        size_t want = limit > 0 && (uint64_t)limit < NI_COPY_CHUNK ? (size_t)limit : NI_COPY_CHUNK;
        size_t n = 0;
        int32_t error = transfer(c, in, out, want, &n);
        if (error == EINTR)
            continue;
        if (error != 0)
        {
            if (c->method_wrote || !method_unsupported(c->method, error))
                return error;
            c->method++;
            continue;
        }
        if (n == 0)
        {
            /* A first 0 from a kernel method is not trusted: procfs, sysfs and friends say 0 (or a
               size of 0) for files that have content. The next method reads on. */
            if (c->method_wrote || c->method == METHOD_READ_WRITE)
                return 0;
            c->method++;
            continue;
        }
        c->method_wrote = 1;
        c->position += (int64_t)n;
        if (limit > 0)
            limit -= (int64_t)n;
        if ((error = report(c)) != 0)
            return error;
    }
    return 0;
}

/* A sparse source: only the data extents are copied, at their offsets; the holes stay holes in the
   destination (which is empty and then extended to the size). */
static int32_t copy_sparse(struct ni_copy* c, int in, int out, int64_t size)
{
    for (int64_t position = 0; position < size;)
    {
        int64_t data, hole;
        int32_t error = ni_unix_next_extent(in, position, &data, &hole);
        if (error == ENXIO || (error == 0 && data >= size))
            break; /* nothing but a hole up to the end */
        if (error != 0)
            return error;
        if (hole > size)
            hole = size;
        if (lseek(in, (off_t)data, SEEK_SET) < 0 || lseek(out, (off_t)data, SEEK_SET) < 0)
            return errno;
        c->position = data;
        if ((error = copy_stream(c, in, out, hole - data)) != 0)
            return error;
        if (c->position < hole)
        {
            /* The end came first: the file is shorter than its size said (it shrank, or it is sysfs,
               whose files say 4096 bytes, no blocks and one data extent). What was read is the copy. */
            size = c->position;
            break;
        }
        position = hole;
    }
    int rc;
    while ((rc = ftruncate(out, (off_t)size)) < 0 && errno == EINTR) { }
    if (rc < 0)
        return errno;
    c->position = size;
    return report(c);
}

int32_t ni_copy_data(struct ni_copy* c, int in, int out, const struct stat* in_st, int fresh)
{
    int32_t error = report(c); /* 0: the caller may cancel before anything is copied */
    if (error != 0)
        return error;
    int regular = S_ISREG(in_st->st_mode) && in_st->st_size > 0;
    /* A reflink shares the source's extents (btrfs, XFS, bcachefs, ...): the whole file in one call,
       holes included. Any failure just means "not here". */
    if (fresh && regular && ni_sys_clone_file(out, in) == 0)
    {
        c->cloned = 1;
        c->position = in_st->st_size;
        return report(c);
    }
    /* Fewer allocated blocks than the size says: there are holes worth keeping (cp --sparse=auto). */
    if (fresh && regular && (int64_t)in_st->st_blocks * 512 < (int64_t)in_st->st_size && ni_unix_seeks_data(in))
        return copy_sparse(c, in, out, (int64_t)in_st->st_size);
    /* A regular file is copied up to the size it had when opened (a file growing meanwhile, a log,
       is copied as it was); one whose size says nothing (0: procfs) is read to its end. */
    error = copy_stream(c, in, out, regular ? (int64_t)in_st->st_size : -1);
    return error != 0 ? error : report(c);
}

int32_t ni_copy_metadata(int out, const struct stat* in_st)
{
    if (fchmod(out, in_st->st_mode & 0777) < 0 && errno != EPERM)
        return errno;
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1] = ni_sys_mtime(in_st);
    if (futimens(out, times) < 0 && errno != EPERM)
        return errno;
    return 0;
}
