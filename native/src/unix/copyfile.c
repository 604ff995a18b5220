/*
 * ni_copyfile / ni_copyfile_ex: a copy engine that never leaves a partial destination.
 *
 *   source (open O_CLOEXEC, shared flock)
 *     -> a temporary file in the destination's directory (O_TMPFILE, else a unique ".ni-copy-*.tmp"
 *        opened O_CREAT|O_EXCL|O_CLOEXEC)
 *     -> data: FICLONE, then copy_file_range, sendfile, read/write (data extents only for a sparse
 *        source: SEEK_DATA / SEEK_HOLE), then the permission bits and the modification time
 *     -> put in place atomically: linkat (O_TMPFILE, fails if the name exists) or
 *        renameat2(RENAME_NOREPLACE) without NI_COPY_OVERWRITE; rename with it.
 *
 * An existing destination (NI_COPY_OVERWRITE) is opened for writing first, as File.Copy opens it: for its
 * permission check, the same-file check and the exclusive flock, which is held until the copy is in place.
 * When a regular destination cannot be replaced by a rename (the directory refuses new entries, or the
 * destination is a mount point), the copy is written into it in place, as File.Copy does; a destination
 * that is not a regular file (a device, a FIFO) is always written in place.
 */
#define _GNU_SOURCE
#include "unix.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if HAVE_FLOCK
#  include <sys/file.h>
#endif
#if defined(__linux__)
#  include <sys/ioctl.h>
#  include <sys/sendfile.h>
#  include <sys/syscall.h>
#endif

#ifndef O_CLOEXEC
#  define O_CLOEXEC 0
#endif
#if defined(__linux__) && !defined(FICLONE)
#  define FICLONE _IOW(0x94, 9, int) /* linux/fs.h; musl has no kernel headers */
#endif
#if defined(__linux__) && !defined(RENAME_NOREPLACE)
#  define RENAME_NOREPLACE (1 << 0)
#endif

/* The most one kernel call copies (copy_file_range, sendfile): small enough for the progress callback
   to be called (and a cancellation seen) often, large enough that the calls cost nothing. */
#define NI_COPY_CHUNK ((size_t)16 << 20)
/* The read/write buffer of the last-resort loop. */
#define NI_COPY_BUFFER ((size_t)1 << 20)
/* Symlinks followed when resolving the destination before ELOOP, as the kernel does. */
#define NI_MAX_SYMLINKS 40

enum { METHOD_COPY_FILE_RANGE, METHOD_SENDFILE, METHOD_READ_WRITE };

/* The state of one copy: the method in use, whether it has written anything, and the progress. */
struct copy
{
    int method;
    int method_wrote;   /* the method in use has copied bytes: its errors are real from now on */
    int64_t position;   /* bytes of the source done (holes skipped count as done) */
    int64_t reported;   /* the last value given to the callback, -1 before the first */
    ni_copy_progress progress;
    void* state;
    char* buffer;       /* read/write buffer, allocated on first use */
};

static int32_t report(struct copy* c)
{
    if (c->progress == NULL || c->position == c->reported)
        return 0;
    c->reported = c->position;
    return c->progress(c->position, c->state) != 0 ? ECANCELED : 0;
}

#if defined(__linux__) && defined(SYS_copy_file_range)
/* -1 not probed yet, 0 unavailable (ENOSYS, or EPERM from a seccomp filter), 1 available. */
static int g_copy_file_range = -1;

static int copy_file_range_available(void)
{
    int known = __atomic_load_n(&g_copy_file_range, __ATOMIC_RELAXED);
    if (known < 0)
    {
        /* Through syscall(): the libc wrapper would raise the glibc floor to 2.27. Invalid descriptors
           make the kernel answer EBADF if it has the call, without touching any file. */
        long rc = syscall(SYS_copy_file_range, -1, NULL, -1, NULL, (size_t)1, 0u);
        known = rc < 0 && errno == EBADF ? 1 : 0;
        __atomic_store_n(&g_copy_file_range, known, __ATOMIC_RELAXED);
    }
    return known;
}
#endif

/* Whether `error` from the first use of a kernel method means "not between these two files": the
   copy falls back to the next method, having written nothing. */
static int method_unsupported(int method, int error)
{
    switch (error)
    {
        case ENOSYS: case EXDEV: case EINVAL: case EOPNOTSUPP: case EPERM: case ETXTBSY: case EBADF:
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
        case ENOTSUP:
#endif
            return method != METHOD_READ_WRITE;
        default:
            return 0;
    }
}

/* One read and the writes it takes (a short write is continued): bytes copied, 0 at the end, -1. */
static ssize_t read_write_once(struct copy* c, int in, int out, size_t want)
{
    if (c->buffer == NULL && (c->buffer = malloc(NI_COPY_BUFFER)) == NULL)
    {
        errno = ENOMEM;
        return -1;
    }
    if (want > NI_COPY_BUFFER)
        want = NI_COPY_BUFFER;
    ssize_t n;
    while ((n = read(in, c->buffer, want)) < 0 && errno == EINTR) { }
    for (ssize_t done = 0; n > 0 && done < n;)
    {
        ssize_t w = write(out, c->buffer + done, (size_t)(n - done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
        {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        done += w;
    }
    return n;
}

/* Copies from the current offset of `in` to the current offset of `out`: `limit` bytes, or to the
   end of the source when limit < 0. Short transfers are continued; the end is a 0-byte result. */
static int32_t copy_stream(struct copy* c, int in, int out, int64_t limit)
{
    while (limit != 0)
    {
        size_t want = limit > 0 && (uint64_t)limit < NI_COPY_CHUNK ? (size_t)limit : NI_COPY_CHUNK;
        ssize_t n;
        switch (c->method)
        {
#if defined(__linux__)
            case METHOD_COPY_FILE_RANGE:
#  if defined(SYS_copy_file_range)
                if (!copy_file_range_available())
                {
                    c->method = METHOD_SENDFILE;
                    continue;
                }
                n = (ssize_t)syscall(SYS_copy_file_range, in, NULL, out, NULL, want, 0u);
                break;
#  else
                c->method = METHOD_SENDFILE;
                continue;
#  endif
            case METHOD_SENDFILE:
                n = sendfile(out, in, NULL, want);
                break;
#endif
            default:
                c->method = METHOD_READ_WRITE;
                n = read_write_once(c, in, out, want);
                break;
        }
        if (n > 0)
        {
            c->method_wrote = 1;
            c->position += n;
            if (limit > 0)
                limit -= n;
            int32_t error = report(c);
            if (error != 0)
                return error;
            continue;
        }
        if (n == 0)
        {
            /* A first 0 from a kernel method is not trusted: procfs, sysfs and friends say 0 (or a
               size of 0) for files that have content. The next method reads on. */
            if (!c->method_wrote && c->method != METHOD_READ_WRITE)
            {
                c->method++;
                continue;
            }
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (!c->method_wrote && method_unsupported(c->method, errno))
        {
            c->method++;
            continue;
        }
        return errno;
    }
    return 0;
}

/* A sparse source: only the data extents are copied, at their offsets; the holes stay holes in the
   destination (which is empty and then extended to the size). 1 if the file system cannot say where
   the data is (the caller copies the whole stream), 0 or an errno. */
static int32_t copy_sparse(struct copy* c, int in, int out, int64_t size)
{
#if defined(SEEK_DATA) && defined(SEEK_HOLE)
    int64_t position = 0;
    while (position < size)
    {
        off_t data = lseek(in, (off_t)position, SEEK_DATA);
        if (data < 0)
        {
            if (errno == ENXIO)
                break; /* nothing but a hole up to the end */
            if (position == 0 && (errno == EINVAL || errno == EOPNOTSUPP))
                return lseek(in, 0, SEEK_SET) < 0 ? errno : 1;
            return errno;
        }
        if (data >= size)
            break;
        off_t hole = lseek(in, data, SEEK_HOLE);
        if (hole < 0)
            return errno;
        if (hole > size)
            hole = (off_t)size;
        if (lseek(in, data, SEEK_SET) < 0 || lseek(out, data, SEEK_SET) < 0)
            return errno;
        c->position = data;
        int32_t error = copy_stream(c, in, out, hole - data);
        if (error != 0)
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
#else
    (void)c; (void)in; (void)out; (void)size;
    return 1;
#endif
}

/* All of the source (from its current offset) into `out`, which is empty when `fresh`. */
static int32_t copy_data(struct copy* c, int in, int out, const struct stat* in_st, int fresh)
{
    int32_t error = report(c); /* 0: the caller may cancel before anything is copied */
    if (error != 0)
        return error;
    int regular = S_ISREG(in_st->st_mode) && in_st->st_size > 0;
#if defined(__linux__)
    /* A reflink shares the source's extents (btrfs, XFS, bcachefs, ...): the whole file in one call,
       holes included. Any failure just means "not here". */
    if (fresh && regular && ioctl(out, FICLONE, in) == 0)
    {
        c->position = in_st->st_size;
        return report(c);
    }
#endif
    /* Fewer allocated blocks than the size says: there are holes worth keeping (cp --sparse=auto). */
    if (fresh && regular && (int64_t)in_st->st_blocks * 512 < (int64_t)in_st->st_size)
    {
        error = copy_sparse(c, in, out, (int64_t)in_st->st_size);
        if (error != 1)
            return error;
    }
    /* A regular file is copied up to the size it had when opened (a file growing meanwhile, a log,
       is copied as it was); one whose size says nothing (0: procfs) is read to its end. */
    error = copy_stream(c, in, out, regular ? (int64_t)in_st->st_size : -1);
    return error != 0 ? error : report(c);
}

/* As File.Copy: the permission bits whatever the umask (no setuid/setgid/sticky) and the
   modification time. A file system that cannot store them (EPERM) does not fail the copy. */
static int32_t copy_metadata(int out, const struct stat* in_st)
{
    if (fchmod(out, in_st->st_mode & 0777) < 0 && errno != EPERM)
        return errno;
    struct timespec times[2];
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
#if defined(__APPLE__)
    times[1] = in_st->st_mtimespec;
#else
    times[1] = in_st->st_mtim;
#endif
    if (futimens(out, times) < 0 && errno != EPERM)
        return errno;
    return 0;
}

/* The advisory locks File.Copy takes: shared on the source, exclusive on the destination. Only a
   conflicting holder fails (EWOULDBLOCK); a file system without locks does not. */
static int32_t lock_file(int fd, int exclusive)
{
#if HAVE_FLOCK
    int rc;
    while ((rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB)) < 0 && errno == EINTR) { }
    if (rc < 0 && (errno == EWOULDBLOCK || errno == EAGAIN))
        return EWOULDBLOCK;
#else
    (void)fd; (void)exclusive;
#endif
    return 0;
}

/* Releases a lock before the close: a child forked meanwhile (and not yet exec'd) shares the open file
   description, which would keep the lock, and the file, locked after our close. */
static void unlock_file(int fd)
{
#if HAVE_FLOCK
    (void)flock(fd, LOCK_UN);
#else
    (void)fd;
#endif
}

static int open_retry(const char* path, int flags, mode_t mode)
{
    int fd;
    while ((fd = open(path, flags | O_CLOEXEC, mode)) < 0 && errno == EINTR) { }
#if !HAVE_O_CLOEXEC
    if (fd >= 0 && ni_unix_cloexec_fallback(fd, NI_CAP_OPEN_ATOMIC) != 0)
        return -1;
#endif
    return fd;
}

static char* join(const char* a, size_t a_length, const char* b)
{
    size_t b_length = strlen(b);
    char* result = malloc(a_length + 1 + b_length + 1);
    if (result != NULL)
    {
        memcpy(result, a, a_length);
        size_t at = a_length;
        if (at > 0 && a[at - 1] != '/')
            result[at++] = '/';
        memcpy(result + at, b, b_length + 1);
    }
    return result;
}

/* The directory of `path` (".", "/", or everything before the last '/'), malloc'd. */
static char* directory_of(const char* path)
{
    const char* slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    size_t length = slash == path ? 1 : (size_t)(slash - path);
    char* dir = malloc(length + 1);
    if (dir != NULL)
    {
        memcpy(dir, path, length);
        dir[length] = '\0';
    }
    return dir;
}

/*
 * The file a destination path finally names: its symlinks (of the last component) followed as open()
 * follows them, a dangling one to the path it points at. File.Copy writes through a symlink, so the
 * copy replaces the link's target, not the link. malloc'd, or NULL with errno (ELOOP, ENOMEM).
 */
static char* resolve_destination(const char* destination)
{
    char* path = strdup(destination);
    char* target = malloc(PATH_MAX);
    for (int hops = 0; path != NULL && target != NULL; hops++)
    {
        ssize_t n = readlink(path, target, PATH_MAX);
        if (n < 0)
        {
            /* Not a symlink (EINVAL), or nothing there: this is the name. Anything else (EACCES,
               ENOTDIR, ...) is for the open of the same path to report. */
            free(target);
            return path;
        }
        if (n >= PATH_MAX || hops >= NI_MAX_SYMLINKS)
        {
            errno = n >= PATH_MAX ? ENAMETOOLONG : ELOOP;
            break;
        }
        target[n] = '\0';
        char* next;
        if (target[0] == '/')
            next = strdup(target);
        else
        {
            const char* slash = strrchr(path, '/');
            next = slash == NULL ? strdup(target) : join(path, (size_t)(slash - path) + 1, target);
        }
        free(path);
        path = next;
    }
    int error = path == NULL || target == NULL ? ENOMEM : errno;
    free(path);
    free(target);
    errno = error;
    return NULL;
}

/* A name for a temporary file: unique in practice, and O_EXCL makes it so. */
static uint64_t next_temp_number(void)
{
    static uint64_t counter;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t x = ((uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec) ^ ((uint64_t)getpid() << 32) ^
                 (__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15u);
    x ^= x >> 33; x *= 0xff51afd7ed558ccdu; x ^= x >> 33; /* mixed, so that consecutive names differ */
    return x;
}

static char* temp_name(const char* dir)
{
    char name[48];
    snprintf(name, sizeof name, ".ni-copy-%016llx.tmp", (unsigned long long)next_temp_number());
    return join(dir, strlen(dir), name);
}

#if defined(__linux__) && defined(O_TMPFILE)
/* O_TMPFILE files are linked in through /proc/self/fd; without /proc they are not used at all. */
static int g_proc_fd = -1;

static int tmpfile_usable(void)
{
    int known = __atomic_load_n(&g_proc_fd, __ATOMIC_RELAXED);
    if (known < 0)
    {
        known = access("/proc/self/fd", X_OK) == 0;
        __atomic_store_n(&g_proc_fd, known, __ATOMIC_RELAXED);
    }
    return known;
}

/* Gives an O_TMPFILE file the name `path` (EEXIST if the name is taken). */
static int link_anonymous(int fd, const char* path)
{
    char proc[32];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}
#endif

/* The temporary copy: an O_TMPFILE (no name, nothing left behind whatever happens to the process)
   or, where the file system cannot, a named file that the copy removes on failure. */
struct temp
{
    int fd;
    char* dir;
    char* path; /* the temp's name; NULL while an O_TMPFILE has none */
};

static int32_t temp_create(struct temp* t, const char* destination)
{
    t->fd = -1;
    t->path = NULL;
    if ((t->dir = directory_of(destination)) == NULL)
        return ENOMEM;
#if defined(__linux__) && defined(O_TMPFILE)
    if (tmpfile_usable())
    {
        while ((t->fd = open(t->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0 && errno == EINTR) { }
        if (t->fd >= 0)
            return 0;
        /* A kernel without O_TMPFILE sees O_DIRECTORY|O_RDWR (EISDIR); a file system without it
           says EOPNOTSUPP. Anything else is about the directory itself. */
        if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
            return errno;
    }
#endif
    for (int attempt = 0; attempt < 100; attempt++)
    {
        if ((t->path = temp_name(t->dir)) == NULL)
            return ENOMEM;
        t->fd = open_retry(t->path, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (t->fd >= 0)
            return 0;
        int error = errno;
        free(t->path);
        t->path = NULL;
        if (error != EEXIST)
            return error;
    }
    return EEXIST;
}

/* Removes whatever is left of the temp (an O_TMPFILE disappears with its descriptor). */
static void temp_discard(struct temp* t)
{
    if (t->fd >= 0)
        ni_unix_close_quietly(t->fd);
    if (t->path != NULL)
    {
        int saved = errno;
        unlink(t->path);
        errno = saved;
    }
    free(t->path);
    free(t->dir);
    t->fd = -1;
    t->path = NULL;
    t->dir = NULL;
}

/* rename() that fails with EEXIST instead of replacing. Where neither renameat2(RENAME_NOREPLACE)
   nor hard links exist, the check and the rename are two steps (documented in noinherit.h). */
static int rename_noreplace(const char* from, const char* to)
{
#if defined(__linux__) && defined(SYS_renameat2)
    /* Through syscall(): glibc's renameat2 wrapper is 2.28. */
    if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != ENOSYS && errno != EINVAL)
        return -1;
#endif
    if (link(from, to) == 0)
    {
        unlink(from);
        return 0;
    }
    if (errno == EEXIST || (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
                            && errno != ENOTSUP
#endif
                            ))
        return -1;
    struct stat st;
    if (ni_unix_lstat(to, &st) == 0)
    {
        errno = EEXIST;
        return -1;
    }
    return rename(from, to);
}

/* Puts the finished temp at `target`: 0, or an errno with the temp still there (for the caller to
   discard, or to copy from). */
static int32_t temp_publish(struct temp* t, const char* target, int overwrite, int target_exists)
{
    if (t->path == NULL)
    {
#if defined(__linux__) && defined(O_TMPFILE)
        /* An O_TMPFILE: linkat fails if the name exists, which is the no-replace semantics. */
        if (!target_exists)
        {
            if (link_anonymous(t->fd, target) == 0)
                return 0;
            if (errno != EEXIST || !overwrite)
                return errno;
        }
        /* Replacing: Linux cannot link over a name, so the temp gets a name of its own first and is
           renamed over the destination; only between these two calls does it have a name. */
        for (int attempt = 0; t->path == NULL; attempt++)
        {
            char* name = temp_name(t->dir);
            if (name == NULL)
                return ENOMEM;
            if (link_anonymous(t->fd, name) == 0)
                t->path = name;
            else
            {
                int error = errno;
                free(name);
                if (error != EEXIST || attempt >= 100)
                    return error;
            }
        }
#else
        (void)target_exists;
        return EINVAL; /* not reached: only O_TMPFILE temps have no name */
#endif
    }
    int rc = overwrite ? rename(t->path, target) : rename_noreplace(t->path, target);
    if (rc != 0)
        return errno;
    free(t->path);
    t->path = NULL; /* the name is the destination's now: nothing to remove */
    return 0;
}

/* Writes the copy straight into an existing regular destination that cannot be replaced, truncated
   first, as File.Copy writes it. */
static int32_t copy_in_place(struct copy* c, int in, const struct stat* in_st, int out, const struct stat* out_st)
{
    /* The source's permission bits first, as File.Copy sets them: its data never sits in the destination
       under looser ones. */
    if (fchmod(out, in_st->st_mode & 0777) < 0 && errno != EPERM)
        return errno;
    if (S_ISREG(out_st->st_mode))
    {
        int rc;
        while ((rc = ftruncate(out, 0)) < 0 && errno == EINTR) { }
        if (rc < 0)
            return errno;
    }
    int32_t error = copy_data(c, in, out, in_st, S_ISREG(out_st->st_mode));
    return error != 0 ? error : copy_metadata(out, in_st);
}

/* Whether a failed rename over an existing, writable destination should turn into an in-place copy:
   the directory refuses to change (not writable, sticky) or the destination is a mount point. */
static int replace_refused(int error)
{
    return error == EACCES || error == EPERM || error == EBUSY || error == EXDEV;
}

/* The destination part of a copy whose source is open and locked. */
static int32_t copy_to(int in, const struct stat* in_st, const char* destination, int overwrite,
                       ni_copy_progress progress, void* state)
{
    struct copy c = { METHOD_COPY_FILE_RANGE, 0, 0, -1, progress, state, NULL };
    size_t length = strlen(destination);
    if (length == 0)
        return ENOENT;
    if (destination[length - 1] == '/')
    {
        /* A name with a trailing slash can only be a directory: the answer is open()'s, as before. */
        int fd = open_retry(destination, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 && errno == EEXIST && overwrite)
            fd = open_retry(destination, O_WRONLY | O_CREAT, 0600);
        if (fd >= 0)
        {
            close(fd);
            return EISDIR;
        }
        return errno;
    }

    char* target = NULL;
    int existing = -1;
    struct stat existing_st;
    int32_t error = 0;
    if (!overwrite)
    {
        /* Any entry at all, a dangling symlink or a directory included, means EEXIST, before anything
           is read; linkat / RENAME_NOREPLACE settle a race with a file created meanwhile. */
        struct stat st;
        if (ni_unix_lstat(destination, &st) == 0)
            return EEXIST;
        if (errno != ENOENT)
            return errno; /* ENOTDIR, ENAMETOOLONG, ELOOP, EACCES: before anything is copied */
        if ((target = strdup(destination)) == NULL)
            return ENOMEM;
    }
    else
    {
        if ((target = resolve_destination(destination)) == NULL)
            return errno;
        /* Opened for writing as File.Copy opens it: a destination we may not write is refused (EACCES),
           a directory is EISDIR, the same file is caught, and the exclusive lock is taken. */
        existing = open_retry(target, O_WRONLY | O_NOCTTY, 0);
        if (existing < 0)
        {
            if (errno != ENOENT)
                error = errno;
        }
        else if (ni_unix_fstat(existing, &existing_st) < 0)
            error = errno;
        else if (existing_st.st_dev == in_st->st_dev && existing_st.st_ino == in_st->st_ino)
            error = EINVAL; /* the same file: nothing was opened with O_TRUNC, it is intact */
        else
            error = lock_file(existing, 1);
        if (error == 0 && existing >= 0 && !S_ISREG(existing_st.st_mode))
        {
            /* A device or a FIFO is written to, never replaced by a file. */
            error = copy_data(&c, in, existing, in_st, 0);
            if (error == 0)
                error = copy_metadata(existing, in_st);
            goto done;
        }
    }

    if (error == 0)
    {
        struct temp t;
        error = temp_create(&t, target);
        if (error != 0 && existing >= 0 && (error == EACCES || error == EPERM))
        {
            /* The directory takes no new file, but the destination may be written: File.Copy would. */
            temp_discard(&t);
            error = copy_in_place(&c, in, in_st, existing, &existing_st);
            goto done;
        }
        if (error == 0)
            error = copy_data(&c, in, t.fd, in_st, 1);
        if (error == 0)
            error = copy_metadata(t.fd, in_st);
        if (error == 0 && t.path != NULL)
        {
            /* A named temp is closed before it is put in place: NFS and friends report deferred write
               errors at close, and the destination must not get a file that failed. */
            int fd = t.fd;
            t.fd = -1;
            if (close(fd) < 0 && errno != EINTR)
                error = errno;
        }
        if (error == 0)
        {
            error = temp_publish(&t, target, overwrite, existing >= 0);
            if (error != 0 && existing >= 0 && replace_refused(error))
            {
                /* The destination cannot be replaced (a mount point, a sticky or read-only directory):
                   the finished copy is written into it instead, as File.Copy writes. */
                int from = t.fd;
                if (from < 0 && t.path != NULL)
                    from = open_retry(t.path, O_RDONLY, 0);
                if (from >= 0 && lseek(from, 0, SEEK_SET) == 0)
                {
                    struct copy again = { METHOD_COPY_FILE_RANGE, 0, 0, -1, NULL, NULL, NULL };
                    error = copy_in_place(&again, from, in_st, existing, &existing_st);
                    free(again.buffer);
                }
                if (from >= 0 && from != t.fd)
                    ni_unix_close_quietly(from);
            }
        }
        temp_discard(&t);
    }

done:
    free(c.buffer);
    free(target);
    if (existing >= 0)
    {
        unlock_file(existing);
        if (close(existing) < 0 && errno != EINTR && error == 0)
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

    int in = open_retry(source, O_RDONLY, 0);
    if (in < 0)
        return errno;
    struct stat in_st;
    if (ni_unix_fstat(in, &in_st) < 0)
        error = errno;
    else if (S_ISDIR(in_st.st_mode))
        error = EISDIR;
    else if ((error = lock_file(in, 0)) == 0)
    {
        error = copy_to(in, &in_st, destination, (flags & NI_COPY_OVERWRITE) != 0, progress, state);
        unlock_file(in);
    }
    ni_unix_close_quietly(in);
    return error;
}

int32_t ni_copyfile(const char* source, const char* destination, int32_t flags)
{
    return ni_copyfile_ex(source, destination, flags, NULL, NULL);
}
