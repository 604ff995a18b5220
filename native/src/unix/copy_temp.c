/*
 * The temporary file of a copy and putting it in place: an O_TMPFILE in the destination's directory,
 * else a unique ".ni-copy-<16 hex digits>.tmp" opened O_CREAT|O_EXCL; put in place with linkat (an
 * O_TMPFILE, which fails if the name exists) or renameat2(RENAME_NOREPLACE) without NI_COPY_OVERWRITE,
 * rename() with it. And the destination's path: its symlinks followed as File.Copy follows them.
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

int32_t ni_temp_create(struct ni_temp* t, const char* destination)
{
    t->fd = -1;
    t->path = NULL;
    if ((t->dir = directory_of(destination)) == NULL)
        return ENOMEM;
    int32_t error = ni_sys_open_tmpfile(t->dir, &t->fd);
    if (error != EOPNOTSUPP)
        return error;
    for (int attempt = 0; attempt < NI_TEMP_ATTEMPTS; attempt++)
    {
        if ((t->path = temp_name(t->dir)) == NULL)
            return ENOMEM;
        error = ni_unix_open(t->path, O_RDWR | O_CREAT | O_EXCL, 0600, &t->fd);
        if (error == 0)
            return 0;
        free(t->path);
        t->path = NULL;
        if (error != EEXIST)
            return error;
    }
    return EEXIST;
}

int32_t ni_temp_finish(struct ni_temp* t)
{
    if (t->path == NULL)
        return 0;
    int fd = t->fd;
    t->fd = -1;
    return close(fd) < 0 && errno != EINTR ? errno : 0;
}

void ni_temp_discard(struct ni_temp* t)
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

/* Gives an unnamed temp a name of its own, for a rename over the destination. */
static int32_t name_temp(struct ni_temp* t)
{
    for (int attempt = 0;; attempt++)
    {
        char* name = temp_name(t->dir);
        if (name == NULL)
            return ENOMEM;
        int32_t error = ni_sys_link_tmpfile(t->fd, name);
        if (error == 0)
        {
            t->path = name;
            return 0;
        }
        free(name);
        if (error != EEXIST || attempt >= NI_TEMP_ATTEMPTS)
            return error;
    }
}

int32_t ni_temp_publish(struct ni_temp* t, const char* target, int overwrite, int target_exists)
{
    int32_t error;
    if (t->path == NULL)
    {
        /* An O_TMPFILE: linkat fails if the name exists, which is the no-replace semantics. */
        if (!target_exists)
        {
            error = ni_sys_link_tmpfile(t->fd, target);
            if (error != EEXIST || !overwrite)
                return error;
        }
        /* Replacing: Linux cannot link over a name, so the temp gets a name of its own first and is
           renamed over the destination; only between these two calls does it have a name. */
        if ((error = name_temp(t)) != 0)
            return error;
    }
    error = overwrite ? (rename(t->path, target) == 0 ? 0 : errno) : rename_noreplace(t->path, target);
    if (error != 0)
        return error;
    free(t->path);
    t->path = NULL; /* the name is the destination's now: nothing to remove */
    return 0;
}
