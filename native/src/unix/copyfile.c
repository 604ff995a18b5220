/* ni_copyfile: both ends opened close-on-exec; kernel copy first, read/write last. */
#define _GNU_SOURCE
#include "unix.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#if HAVE_FLOCK
#  include <sys/file.h>
#endif
#if defined(__linux__)
#  include <sys/sendfile.h>
#  include <sys/syscall.h>
#endif

#ifndef O_CLOEXEC
#  define O_CLOEXEC 0
#endif

#define NI_COPY_CHUNK ((size_t)1 << 30)
#define NI_COPY_BUFFER ((size_t)256 * 1024)

/* A negative result with errno, 0 when nothing was copied (caller falls back), 1 when done. */
#if defined(__linux__)
static int g_no_copy_file_range; /* set once the kernel says ENOSYS */

static int kernel_copy(int in, int out)
{
    int copied_any = 0;
#if defined(SYS_copy_file_range)
    /* Through syscall(): the libc wrapper would raise the glibc floor to 2.27. */
    while (!__atomic_load_n(&g_no_copy_file_range, __ATOMIC_RELAXED))
    {
        long n = syscall(SYS_copy_file_range, in, NULL, out, NULL, NI_COPY_CHUNK, 0u);
        if (n > 0) { copied_any = 1; continue; }
        if (n == 0)
        {
            if (copied_any) return 1;
            break; /* procfs and friends report 0 bytes but have content: try the next method */
        }
        if (errno == EINTR) continue;
        if (copied_any) return -1;
        if (errno == ENOSYS) { __atomic_store_n(&g_no_copy_file_range, 1, __ATOMIC_RELAXED); break; }
        if (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL || errno == EPERM ||
            errno == ETXTBSY || errno == EBADF || errno == EIO)
            break; /* not possible between these two files: nothing written, fall back */
        return -1;
    }
#endif
    for (;;)
    {
        ssize_t n = sendfile(out, in, NULL, NI_COPY_CHUNK);
        if (n > 0) { copied_any = 1; continue; }
        if (n == 0) return copied_any ? 1 : 0;
        if (errno == EINTR) continue;
        if (copied_any) return -1;
        if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)
            return 0;
        return -1;
    }
}
#endif

static int32_t buffered_copy(int in, int out)
{
    char* buffer = malloc(NI_COPY_BUFFER);
    if (buffer == NULL)
        return ENOMEM;
    int32_t error = 0;
    for (;;)
    {
        ssize_t n = read(in, buffer, NI_COPY_BUFFER);
        if (n == 0) break;
        if (n < 0)
        {
            if (errno == EINTR) continue;
            error = errno;
            break;
        }
        for (ssize_t done = 0; done < n;)
        {
            ssize_t w = write(out, buffer + done, (size_t)(n - done));
            if (w < 0)
            {
                if (errno == EINTR) continue;
                error = errno;
                goto out;
            }
            done += w; /* a short write is continued, never taken as the end */
        }
    }
out:
    free(buffer);
    return error;
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

int32_t ni_copyfile(const char* source, const char* destination, int32_t flags)
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
    {
        error = errno;
        ni_unix_close_quietly(in);
        return error;
    }
    if (S_ISDIR(in_st.st_mode) || (error = lock_file(in, 0)) != 0)
    {
        ni_unix_close_quietly(in); /* never locked */
        return error != 0 ? error : EISDIR;
    }

    /* O_EXCL first so that we know whether we created the destination (and may remove it). */
    mode_t mode = in_st.st_mode & 0777;
    int created = 1;
    int out = open_retry(destination, O_WRONLY | O_CREAT | O_EXCL, mode);
    if (out < 0 && errno == EEXIST && (flags & NI_COPY_OVERWRITE))
    {
        created = 0;
        /* O_CREAT again: a dangling symlink is followed and its target created, as File.Copy does. */
        out = open_retry(destination, O_WRONLY | O_CREAT, mode);
    }
    if (out < 0)
    {
        error = errno;
        unlock_file(in);
        ni_unix_close_quietly(in);
        return error;
    }

    struct stat out_st;
    if (ni_unix_fstat(out, &out_st) < 0)
        error = errno;
    else if (out_st.st_dev == in_st.st_dev && out_st.st_ino == in_st.st_ino)
        error = EINVAL; /* the same file: it was opened without O_TRUNC, so it is intact */
    /* Truncate only once the destination is ours alone; a locked one is left as it is. */
    else if ((error = lock_file(out, 1)) == 0 && !created && S_ISREG(out_st.st_mode))
    {
        int rc;
        while ((rc = ftruncate(out, 0)) < 0 && errno == EINTR) { }
        if (rc < 0) error = errno;
    }

    if (error == 0)
    {
#if defined(__linux__)
        int rc = kernel_copy(in, out);
        if (rc < 0)
            error = errno;
        else if (rc == 0)
            error = buffered_copy(in, out);
#else
        error = buffered_copy(in, out);
#endif
    }

    if (error == 0)
        error = copy_metadata(out, &in_st);
    unlock_file(out);
    unlock_file(in);
    if (close(out) < 0 && errno != EINTR && error == 0)
        error = errno; /* NFS and friends report deferred write errors at close */
    ni_unix_close_quietly(in);
    if (error != 0 && created)
        unlink(destination);
    return error;
}
