/* ni_open, ni_preallocate: files opened close-on-exec in the open call itself. */
#define _GNU_SOURCE
#include "unix.h"

#include <fcntl.h>
#include <unistd.h>
#if HAVE_FLOCK
#  include <sys/file.h>
#endif

#ifndef O_CLOEXEC
#  define O_CLOEXEC 0
#endif

static int to_os_flags(int32_t flags)
{
    int os = O_CLOEXEC;
    switch (flags & NI_O_ACCMODE)
    {
        case NI_O_WRONLY: os |= O_WRONLY; break;
        case NI_O_RDWR: os |= O_RDWR; break;
        default: os |= O_RDONLY; break;
    }
    if (flags & NI_O_CREAT) os |= O_CREAT;
    if (flags & NI_O_EXCL) os |= O_EXCL;
    if (flags & NI_O_APPEND) os |= O_APPEND;
    if (flags & NI_O_SYNC) os |= O_SYNC;
    if (flags & NI_O_NOFOLLOW) os |= O_NOFOLLOW;
    /* With a lock requested, truncation waits until the lock is held (see lock_and_truncate). */
    if ((flags & NI_O_TRUNC) && !(flags & (NI_O_SHLOCK | NI_O_EXLOCK))) os |= O_TRUNC;
    return os;
}

static int lock_and_truncate(int fd, int32_t flags)
{
#if HAVE_FLOCK
    if (flags & (NI_O_SHLOCK | NI_O_EXLOCK))
    {
        int op = ((flags & NI_O_EXLOCK) ? LOCK_EX : LOCK_SH) | LOCK_NB;
        int rc;
        while ((rc = flock(fd, op)) < 0 && errno == EINTR) { }
        /* Advisory locking is best effort: only a conflicting holder fails the open. */
        if (rc < 0 && (errno == EWOULDBLOCK || errno == EAGAIN))
            return EWOULDBLOCK;
    }
#endif
    if ((flags & NI_O_TRUNC) && (flags & (NI_O_SHLOCK | NI_O_EXLOCK)))
    {
        int rc;
        while ((rc = ftruncate(fd, 0)) < 0 && errno == EINTR) { }
        /* EINVAL / EBADF: a FIFO or device that cannot be truncated, as with O_TRUNC. */
        if (rc < 0 && errno != EINVAL && errno != EBADF)
            return errno;
    }
    return 0;
}

int32_t ni_open(const char* path, int32_t flags, int32_t mode, ni_handle* result)
{
    if (path == NULL || result == NULL || (mode & ~07777) != 0)
        return EINVAL;
    int32_t error = ni_check_open_flags(flags);
    if (error != 0)
        return error;
    if (flags & NI_O_DELETE_ON_CLOSE)
        return ENOTSUP; /* POSIX has no such thing; the caller removes the name when it closes */

    int fd;
    while ((fd = open(path, to_os_flags(flags), (mode_t)mode)) < 0 && errno == EINTR) { }
    if (fd < 0)
        return errno;

#if !HAVE_O_CLOEXEC
    if ((error = ni_unix_cloexec_fallback(fd, NI_CAP_OPEN_ATOMIC)) != 0)
        return error;
#endif

    /* Opening a directory for writing fails with EISDIR in open(); for reading it needs a look. */
    if ((flags & NI_O_NOTDIR) && (flags & NI_O_ACCMODE) == NI_O_RDONLY)
    {
        struct stat st;
        if (ni_unix_fstat(fd, &st) < 0)
            error = errno;
        else if (S_ISDIR(st.st_mode))
            error = EISDIR;
    }
    if (error == 0)
        error = lock_and_truncate(fd, flags);
#if HAVE_POSIX_FADVISE
    if (error == 0 && (flags & (NI_O_RANDOM | NI_O_SEQUENTIAL)))
        (void)posix_fadvise(fd, 0, 0, (flags & NI_O_RANDOM) ? POSIX_FADV_RANDOM : POSIX_FADV_SEQUENTIAL); /* a hint */
#endif
    if (error != 0)
    {
        ni_unix_close_quietly(fd);
        return error;
    }

    *result = (ni_handle)fd;
    return 0;
}

int32_t ni_preallocate(ni_handle handle, int64_t length)
{
    if (length < 0)
        return EINVAL;
    if (length == 0)
        return 0;
#if defined(__linux__) && HAVE_FALLOCATE
    int rc;
    /* KEEP_SIZE reserves the blocks without changing the file's length. */
    while ((rc = fallocate(ni_unix_fd(handle), FALLOC_FL_KEEP_SIZE, 0, (off_t)length)) < 0 && errno == EINTR) { }
    return rc < 0 ? errno : 0;
#else
    (void)handle;
    return ENOTSUP;
#endif
}
