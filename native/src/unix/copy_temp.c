/*
 * The temporary file of a copy and putting it in place: an O_TMPFILE in the destination's directory, else
 * a named ".ni-copy-<16 hex digits>.tmp" opened O_CREAT|O_EXCL; put in place with linkat (an O_TMPFILE,
 * which fails if the name exists) or renameat2(RENAME_NOREPLACE) without NI_COPY_OVERWRITE; with it,
 * renameat2(RENAME_EXCHANGE) + unlink of the old file on ext4 while the data is unflushed, else rename(). A
 * durable copy's O_TMPFILE is given its name before it is flushed.
 * A temp's name is its destination's slot (the hash of the destination's name), so the next copy to that
 * destination finds what a crash left there; a live temp is flock'ed whenever it has a name, and only an
 * unlocked one is removed. And the destination's path: its symlinks followed as File.Copy follows them.
 */
#define _GNU_SOURCE
#include "copyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Symlinks followed when resolving the destination before ELOOP, as the kernel does. */
#define NI_MAX_SYMLINKS 40
/* Names tried for a named temp before giving up with EEXIST. */
#define NI_TEMP_ATTEMPTS 100

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

/* Where the symlink `path`, whose content is `link`, points: `link` itself when absolute, else `link`
   beside `path`. malloc'd. */
static char* link_destination(const char* path, const char* link)
{
    if (link[0] == '/')
        return strdup(link);
    const char* slash = strrchr(path, '/');
    return slash == NULL ? strdup(link) : join(path, (size_t)(slash - path) + 1, link);
}

int32_t ni_resolve_destination(const char* destination, char** target)
{
    char* path = strdup(destination);
    char* link = malloc(PATH_MAX);
    int32_t error = path == NULL || link == NULL ? ENOMEM : 0;
    for (int hops = 0; error == 0; hops++)
    {
        ssize_t n = readlink(path, link, PATH_MAX);
        if (n < 0)
        {
            /* Not a symlink (EINVAL), or nothing there: this is the name. Anything else (EACCES,
               ENOTDIR, ...) is for the open of the same path to report. */
            free(link);
            *target = path;
            return 0;
        }
        if (n >= PATH_MAX)
            error = ENAMETOOLONG;
        else if (hops >= NI_MAX_SYMLINKS)
            error = ELOOP;
        else
        {
            link[n] = '\0';
            char* next = link_destination(path, link);
            free(path);
            path = next;
            error = path == NULL ? ENOMEM : 0;
        }
    }
    free(path);
    free(link);
    return error;
}

/* A random name for a temporary file, when its destination's own is in use: unique in practice, and
   O_EXCL / linkat make it so. */
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

static char* temp_name(const char* dir, uint64_t number)
{
    char name[48];
    snprintf(name, sizeof name, ".ni-copy-%016llx.tmp", (unsigned long long)number);
    return join(dir, strlen(dir), name);
}

/* The destination's own temp name (its "slot"): the 64-bit FNV-1a hash of the destination's last component.
   Every copy to that destination uses it, so the next copy finds what a crashed one left there. */
static char* slot_name(const char* dir, const char* target)
{
    const char* slash = strrchr(target, '/');
    uint64_t hash = 0xcbf29ce484222325u;
    for (const unsigned char* p = (const unsigned char*)(slash != NULL ? slash + 1 : target); *p != '\0'; p++)
        hash = (hash ^ *p) * 0x100000001b3u;
    return temp_name(dir, hash);
}

/* A temp left at `path` by a copy that is gone (killed, or the system went down) is a regular file whose
   lock nobody holds: a live copy holds the lock of its temp from before the temp has a name until the name
   is gone. Such a leftover is removed under its lock. 0 when `path` is free now; EEXIST when it is in use,
   not a file, or cannot be removed (a sticky directory); never removes anything else. */
static int32_t remove_leftover(const char* path)
{
    int fd;
    int32_t error = ni_unix_open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, &fd);
    if (error != 0)
        return error == ENOENT ? 0 : EEXIST;
    struct stat st;
    error = EEXIST;
    if (ni_sys_fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ni_unix_try_lock(fd) == 0)
        error = unlink(path) == 0 || errno == ENOENT ? 0 : EEXIST;
    ni_unix_close_quietly(fd); /* and with it the lock */
    return error;
}

/* Whether `fd` is still the file at `path` (a leftover-remover may have taken it before it was locked). */
static int still_named(int fd, const char* path)
{
    struct stat a, b;
    return ni_sys_fstat(fd, &a) == 0 && ni_sys_lstat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* A new named temp at `name`, locked. Between the O_EXCL create and the lock a leftover-remover could take
   it: then the name is given up (EEXIST) and the next one tried. */
static int32_t create_named(struct ni_temp* t, const char* name)
{
    int32_t error = ni_unix_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &t->fd);
    if (error != 0)
        return error;
    error = ni_unix_try_lock(t->fd);
    if (error == EWOULDBLOCK || (error == 0 && !still_named(t->fd, name)))
    {
        ni_unix_close_quietly(t->fd);
        t->fd = -1;
        return EEXIST;
    }
    return 0; /* locked, or no locks on this file system (and so no leftover is ever removed) */
}

/* An O_TMPFILE given the name `name`, locked first so that it is never a named file without its lock. */
static int32_t link_unnamed(struct ni_temp* t, const char* name)
{
    if (!t->locked)
    {
        (void)ni_unix_try_lock(t->fd); /* a new inode nobody else knows: it can only fail for "no locks here" */
        t->locked = 1;
    }
    return ni_sys_link_tmpfile(t->fd, name);
}

/* Gives the temp a name in its directory with `make`: the destination's slot (freed first of a leftover),
   else a random one (another copy of the same destination is using the slot). */
static int32_t take_name(struct ni_temp* t, const char* target, int32_t (*make)(struct ni_temp*, const char*))
{
    char* name = slot_name(t->dir, target);
    if (name == NULL)
        return ENOMEM;
    int32_t error = make(t, name);
    if (error == EEXIST && remove_leftover(name) == 0)
        error = make(t, name);
    for (int attempt = 0; error == EEXIST && attempt < NI_TEMP_ATTEMPTS; attempt++)
    {
        free(name);
        if ((name = temp_name(t->dir, next_temp_number())) == NULL)
            return ENOMEM;
        error = make(t, name);
    }
    if (error != 0)
    {
        free(name);
        return error;
    }
    t->path = name;
    return 0;
}

int32_t ni_temp_create(struct ni_temp* t, const char* target, int durable)
{
    t->fd = -1;
    t->dir_fd = -1;
    t->locked = 0;
    t->path = NULL;
    if ((t->dir = directory_of(target)) == NULL)
        return ENOMEM;
    /* The directory is opened first, to flush its entry at the end: a failure to open it (EMFILE) must come
       before anything changes. */
    int32_t error = durable ? ni_unix_open(t->dir, O_RDONLY | O_DIRECTORY, 0, &t->dir_fd) : 0;
    if (error == 0)
        error = ni_sys_open_tmpfile(t->dir, &t->fd);
    if (error != EOPNOTSUPP)
        return error;
    t->locked = 1;
    return take_name(t, target, create_named);
}

int32_t ni_temp_sync(struct ni_temp* t, const char* target)
{
    /* Where the directory's flush will commit the file along with its name, its data only has to be written
       before the name changes: one journal commit for the copy instead of two. Elsewhere the file's inode reaches
       the disk as it is at its fsync, and the directory's flush later writes only the directory: an O_TMPFILE
       flushed unnamed would be on disk with a link count of 0 under the new entry (a deleted inode, for fsck and
       for the kernel, after a crash). So the temp gets its name (its slot) first in both cases, while its data is
       being written (the caller started that). */
    int one_commit = t->dir_fd >= 0 && ni_sys_journal_covers_file(t->fd);
    if (t->path == NULL)
    {
        int32_t error = take_name(t, target, link_unnamed);
        if (error != 0)
            return error;
    }
    return one_commit ? ni_sys_write_out(t->fd) : ni_sys_sync(t->fd);
}

int32_t ni_temp_finish(struct ni_temp* t)
{
    if (t->path == NULL)
        return 0;
    /* The close reports a deferred write error; a duplicate keeps the file (and, for flock, its lock) open
       until it is in place. A lock that went with the close (NFS emulates flock with POSIX locks, which any
       close drops) is taken again, and the name checked to be still ours. */
    int keep;
    int32_t error = ni_unix_dup(t->fd, &keep);
    if (error != 0)
        return error;
    int fd = t->fd;
    t->fd = keep;
    if (close(fd) < 0 && errno != EINTR)
        return errno;
    error = ni_unix_try_lock(keep);
    if (error == EWOULDBLOCK || (error == 0 && !still_named(keep, t->path)))
    {
        free(t->path); /* taken for a leftover meanwhile: the name is not ours to remove any more */
        t->path = NULL;
        return ESTALE;
    }
    return 0;
}

void ni_temp_discard(struct ni_temp* t)
{
    /* A name left is removed while its lock still marks it live (once unlocked, another copy could take the
       slot). The lock goes before the close: a child forked meanwhile shares the open file and would keep the
       lock until its exec, on what is now the destination, which the next copy could then not lock. */
    int saved = errno;
    if (t->path != NULL)
        unlink(t->path);
    if (t->fd >= 0)
    {
        ni_unix_unlock(t->fd);
        ni_unix_close_quietly(t->fd);
    }
    errno = saved;
    if (t->dir_fd >= 0)
        ni_unix_close_quietly(t->dir_fd);
    free(t->path);
    free(t->dir);
    t->fd = -1;
    t->dir_fd = -1;
    t->path = NULL;
    t->dir = NULL;
}

/* rename() that fails with EEXIST instead of replacing. Where neither renameat2(RENAME_NOREPLACE) nor
   hard links exist, the check and the rename are two steps (documented in noinherit.h). */
static int32_t rename_noreplace(const char* from, const char* to)
{
    int32_t error = ni_sys_rename_noreplace(from, to);
    if (error != ENOSYS && error != EINVAL)
        return error;
    if (link(from, to) == 0)
    {
        unlink(from);
        return 0;
    }
    error = errno;
    if (error == EEXIST || (error != EPERM && error != ENOSYS && !ni_unix_not_supported(error)))
        return error;
    struct stat st;
    if (ni_sys_lstat(to, &st) == 0)
        return EEXIST;
    return rename(from, to) == 0 ? 0 : errno;
}

/* Replaces the locked, existing `target` by the named temp. Where a rename over a file starts writeback of
   the new one (ext4) and the data may still be in the page cache only, the names are swapped instead and
   the old file, now at the temp's name (still locked by the caller), unlinked: no writeback is forced. */
static int32_t replace(struct ni_temp* t, const char* target, int swap)
{
    if (swap && ni_sys_replace_starts_writeback(t->fd) && ni_sys_rename_exchange(t->path, target) == 0)
    {
        (void)unlink(t->path); /* the copy is in place: a failure here leaves a leftover, not a failed copy */
        return 0;
    }
    return rename(t->path, target) == 0 ? 0 : errno; /* also where the swap is refused (EINVAL: NFS, ...) */
}

/* A copy that links its O_TMPFILE straight at the destination never takes the slot, where a durable copy of the
   same destination that did not finish (the system went down) may have left its temp: that is removed here. */
static void clear_slot(const struct ni_temp* t, const char* target)
{
    char* name = slot_name(t->dir, target);
    if (name != NULL)
        (void)remove_leftover(name);
    free(name);
}

int32_t ni_temp_publish(struct ni_temp* t, const char* target, int overwrite, int target_locked, int swap)
{
    int32_t error;
    if (t->path == NULL)
    {
        /* An O_TMPFILE: linkat fails if the name exists, which is the no-replace semantics. */
        if (!target_locked)
        {
            error = ni_sys_link_tmpfile(t->fd, target);
            if (error == 0)
                clear_slot(t, target);
            if (error != EEXIST || !overwrite)
                return error;
        }
        /* Replacing: Linux cannot link over a name, so the temp gets its name first and replaces the
           destination from there; only between these two calls does it have a name. */
        if ((error = take_name(t, target, link_unnamed)) != 0)
            return error;
    }
    if (!overwrite)
        error = rename_noreplace(t->path, target);
    else
        error = replace(t, target, swap && target_locked);
    if (error != 0)
        return error;
    free(t->path);
    t->path = NULL; /* the name is the destination's now: nothing to remove */
    return 0;
}

int32_t ni_temp_sync_directory(struct ni_temp* t)
{
    return t->dir_fd >= 0 ? ni_sys_sync(t->dir_fd) : 0;
}
