/* ni_open, ni_preallocate: files opened close-on-exec in the open call itself, with File.OpenHandle's
   advisory lock and truncation once the lock is held. */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static int to_os_flags(int32_t flags)
{
    int os = 0;
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

/* Opening a directory for writing fails with EISDIR in open(); for reading it needs a look. */
static int32_t refuse_directory(int fd, int32_t flags)
{
    if (!(flags & NI_O_NOTDIR) || (flags & NI_O_ACCMODE) != NI_O_RDONLY)
        return 0;
    struct stat st;
    int32_t error = ni_sys_fstat(fd, &st);
    return error != 0 ? error : S_ISDIR(st.st_mode) ? EISDIR : 0;
}

static int32_t lock_and_truncate(int fd, int32_t flags)
{
    if (!(flags & (NI_O_SHLOCK | NI_O_EXLOCK)))
        return 0;
    int32_t error = ni_unix_lock(fd, (flags & NI_O_EXLOCK) != 0);
    if (error != 0 || !(flags & NI_O_TRUNC))
        return error;
    int rc;
    while ((rc = ftruncate(fd, 0)) < 0 && errno == EINTR) { }
    /* EINVAL: a FIFO or device, which O_TRUNC leaves alone too. (The descriptor is writable: read-only
       truncation was refused before the open.) */
    return rc < 0 && errno != EINVAL ? errno : 0;
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
    if ((error = ni_unix_open(path, to_os_flags(flags), (mode_t)mode, &fd)) != 0)
        return error;
    if ((error = refuse_directory(fd, flags)) == 0)
        error = lock_and_truncate(fd, flags);
    if (error != 0)
    {
        ni_unix_close_quietly(fd);
        return error;
    }
    if (flags & (NI_O_RANDOM | NI_O_SEQUENTIAL))
        ni_unix_advise(fd, (flags & NI_O_RANDOM) != 0);
    *result = (ni_handle)fd;
    return 0;
}

int32_t ni_preallocate(ni_handle handle, int64_t length)
{
    if (length < 0)
        return EINVAL;
    if (length == 0)
        return 0;
    return ni_sys_preallocate(ni_unix_fd(handle), length);
}
