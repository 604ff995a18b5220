/*
 * The kernel layer on Linux (ni_sys_*, declared in unix.h) for files, the descriptor table and the copy
 * engine; linux_process.c has it for processes and terminals. Between them they hold every raw system
 * call, system call number and kernel struct layout of the library. Calls go through syscall() where the
 * libc wrapper would raise the glibc floor (fstat and lstat 2.33, close_range 2.34, renameat2 2.28,
 * copy_file_range 2.27) or where libc has none (getdents64); numbers that older headers lack are the same
 * on every architecture (the unified table).
 */
#define _GNU_SOURCE
#include "unix.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_close_range
#  define SYS_close_range 436
#endif
#ifndef SYS_copy_file_range
#  if defined(__x86_64__)
#    define SYS_copy_file_range 326
#  elif defined(__aarch64__)
#    define SYS_copy_file_range 285
#  endif
#endif
#ifndef FICLONE
#  define FICLONE _IOW(0x94, 9, int) /* linux/fs.h; musl has no kernel headers */
#endif
#ifndef RENAME_NOREPLACE
#  define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#  define RENAME_EXCHANGE (1 << 1)
#endif
#define NI_EXT4_SUPER_MAGIC 0xEF53 /* linux/magic.h: ext2, ext3 and ext4, all served by the ext4 driver */
#define NI_XFS_SUPER_MAGIC 0x58465342

/* ---- Files ---- */

int32_t ni_sys_fstat(int fd, struct stat* st)
{
#if defined(__GLIBC__) && defined(SYS_fstat) && defined(__LP64__)
    /* glibc >= 2.33 exports fstat@GLIBC_2.33; the raw call fills the same struct stat on x86_64 and
       aarch64 and keeps the library loadable on older glibc. Not on 32-bit ARM, where the kernel's struct
       stat is not glibc's (64-bit offsets and times): there the floor is 2.34 anyway (linux-arm.cmake). */
    return syscall(SYS_fstat, fd, st) == 0 ? 0 : errno;
#else
    return fstat(fd, st) == 0 ? 0 : errno;
#endif
}

int32_t ni_sys_lstat(const char* path, struct stat* st)
{
#if defined(__GLIBC__) && defined(SYS_newfstatat) && defined(__LP64__)
    /* lstat@GLIBC_2.33 likewise: newfstatat(AT_SYMLINK_NOFOLLOW) is the call behind it. */
    return syscall(SYS_newfstatat, AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
#else
    return lstat(path, st) == 0 ? 0 : errno;
#endif
}

int32_t ni_sys_stat(const char* path, struct stat* st)
{
#if defined(__GLIBC__) && defined(SYS_newfstatat)
    /* stat@GLIBC_2.33 likewise. */
    return syscall(SYS_newfstatat, AT_FDCWD, path, st, 0) == 0 ? 0 : errno;
#else
    return stat(path, st) == 0 ? 0 : errno;
#endif
}

struct timespec ni_sys_mtime(const struct stat* st)
{
    return st->st_mtim;
}

int32_t ni_sys_set_cloexec(int fd, int cloexec)
{
    /* FD_CLOEXEC is the only descriptor flag on Linux: one call sets the whole word, without reading it. */
    return fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0) == 0 ? 0 : errno;
}

int32_t ni_sys_preallocate(int fd, int64_t length)
{
    int rc;
    /* KEEP_SIZE reserves the blocks without changing the file's length. */
    while ((rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)length)) < 0 && errno == EINTR) { }
    return rc == 0 ? 0 : errno;
}

void ni_sys_fd_path(int fd, char* buffer, size_t size)
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buffer, size - 1);
    buffer[n > 0 ? n : 0] = '\0';
}

/* ---- The descriptor table ---- */

/* What close_range cannot do here: bit 0 = anything (ENOSYS), bit 1 = CLOSE_RANGE_CLOEXEC. */
static volatile int g_close_range_missing;

NI_CHILD_CODE int32_t ni_sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
    int missing = __atomic_load_n(&g_close_range_missing, __ATOMIC_RELAXED);
    if ((missing & 1) || (flags != 0 && (missing & 2)))
        return ENOSYS;
    if (syscall(SYS_close_range, first, last, flags) == 0)
        return 0;
    int error = errno;
    /* EINVAL: flags this kernel does not know (first <= last always holds here). */
    if (error != ENOSYS && error != EINVAL)
        return error;
    __atomic_or_fetch(&g_close_range_missing, error == ENOSYS || flags == 0 ? 1 : 2, __ATOMIC_RELAXED);
    return ENOSYS;
}

#define NI_CLOSE_RANGE_UNSHARE (1U << 1) /* linux/close_range.h */

NI_CHILD_CODE int32_t ni_sys_own_descriptors(unsigned int below)
{
    if (syscall(SYS_close_range, below, ~0U, NI_CLOSE_RANGE_UNSHARE) == 0)
        return 0;
    /* Before Linux 5.9 (ENOSYS), or a seccomp filter that refuses close_range (older container profiles: EPERM):
       a copy of every number, which close_the_rest then closes as it would after a plain clone. */
    return syscall(SYS_unshare, CLONE_FILES) == 0 ? 0 : errno;
}

/* The kernel's struct linux_dirent64, which getdents64 fills (libc's struct dirent may differ). */
struct ni_dirent64
{
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* getdents64 rather than readdir: no allocation, so a spawned child can use it. */
NI_CHILD_CODE int32_t ni_sys_list_fds(ni_fd_visitor visit, void* state)
{
    int dir;
    while ((dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 && errno == EINTR) { }
    if (dir < 0)
        return ENOSYS; /* no /proc: the caller asks every number instead */
    char buffer[4096] __attribute__((aligned(8)));
    long n;
    int32_t error = 0;
    while (error == 0 && (n = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0)
    {
        for (long offset = 0; offset < n && error == 0;)
        {
            const struct ni_dirent64* entry = (const struct ni_dirent64*)(void*)(buffer + offset);
            offset += entry->d_reclen;
            const char* name = entry->d_name;
            if (name[0] < '0' || name[0] > '9')
                continue;
            int fd = 0;
            for (; *name >= '0' && *name <= '9'; name++)
                fd = fd * 10 + (*name - '0');
            if (fd != dir)
                error = visit(fd, state);
        }
    }
    close(dir);
    return error;
}

/* ---- The copy engine ---- */

int32_t ni_sys_clone_file(int out, int in)
{
    return ioctl(out, FICLONE, in) == 0 ? 0 : errno;
}

#if defined(SYS_copy_file_range)
/* -1 not probed yet, 0 unavailable (ENOSYS, or EPERM from a seccomp filter), 1 available. */
static int g_copy_file_range = -1;

static int copy_file_range_available(void)
{
    int known = __atomic_load_n(&g_copy_file_range, __ATOMIC_RELAXED);
    if (known < 0)
    {
        /* Invalid descriptors make the kernel answer EBADF if it has the call, without touching a file. */
        long rc = syscall(SYS_copy_file_range, -1, NULL, -1, NULL, (size_t)1, 0u);
        known = rc < 0 && errno == EBADF ? 1 : 0;
        __atomic_store_n(&g_copy_file_range, known, __ATOMIC_RELAXED);
    }
    return known;
}
#endif

int32_t ni_sys_copy_file_range(int in, int out, size_t want, size_t* copied)
{
#if defined(SYS_copy_file_range)
    if (!copy_file_range_available())
        return ENOSYS;
    long n = syscall(SYS_copy_file_range, in, NULL, out, NULL, want, 0u);
    if (n < 0)
        return errno;
    *copied = (size_t)n;
    return 0;
#else
    (void)in, (void)out, (void)want, (void)copied;
    return ENOSYS;
#endif
}

int32_t ni_sys_sendfile(int in, int out, size_t want, size_t* copied)
{
    ssize_t n = sendfile(out, in, NULL, want);
    if (n < 0)
        return errno;
    *copied = (size_t)n;
    return 0;
}

#if defined(O_TMPFILE)
/* Whether /proc/self/fd is there to link an O_TMPFILE through: -1 not probed yet, 0 no, 1 yes. */
static int g_proc_fd_usable = -1;

static int proc_fd_usable(void)
{
    int known = __atomic_load_n(&g_proc_fd_usable, __ATOMIC_RELAXED);
    if (known < 0)
    {
        known = access("/proc/self/fd", X_OK) == 0;
        __atomic_store_n(&g_proc_fd_usable, known, __ATOMIC_RELAXED);
    }
    return known;
}
#endif

int32_t ni_sys_open_tmpfile(const char* dir, int* fd)
{
#if defined(O_TMPFILE)
    if (!proc_fd_usable())
        return EOPNOTSUPP;
    int result;
    while ((result = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600)) < 0 && errno == EINTR) { }
    if (result >= 0)
    {
        *fd = result;
        return 0;
    }
    /* A kernel without O_TMPFILE sees O_DIRECTORY|O_RDWR (EISDIR); a file system without it says
       EOPNOTSUPP. Anything else is about the directory itself. */
    return errno == EISDIR || errno == EINVAL ? EOPNOTSUPP : errno;
#else
    (void)dir, (void)fd;
    return EOPNOTSUPP;
#endif
}

/* Set once linkat(AT_EMPTY_PATH) was refused (ENOENT) where the link through /proc then worked. */
static int g_empty_path_refused;

int32_t ni_sys_link_tmpfile(int fd, const char* path)
{
    /* AT_EMPTY_PATH links the descriptor itself, without a lookup through /proc (a few µs less per copy); the
       kernel allows it without CAP_DAC_READ_SEARCH since Linux 6.10, for a file the caller opened, and says
       ENOENT before that. */
    int tried = !__atomic_load_n(&g_empty_path_refused, __ATOMIC_RELAXED);
    if (tried)
    {
        if (linkat(fd, "", AT_FDCWD, path, AT_EMPTY_PATH) == 0)
            return 0;
        if (errno != ENOENT)
            return errno;
    }
    char proc[32];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0)
        return errno;
    if (tried)
        __atomic_store_n(&g_empty_path_refused, 1, __ATOMIC_RELAXED);
    return 0;
}

static int32_t rename_with(const char* from, const char* to, unsigned flags)
{
#if defined(SYS_renameat2)
    return syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags) == 0 ? 0 : errno;
#else
    (void)from, (void)to, (void)flags;
    return ENOSYS;
#endif
}

int32_t ni_sys_rename_noreplace(const char* from, const char* to)
{
    return rename_with(from, to, RENAME_NOREPLACE);
}

int32_t ni_sys_rename_exchange(const char* a, const char* b)
{
    return rename_with(a, b, RENAME_EXCHANGE);
}

int ni_sys_replace_starts_writeback(int fd)
{
    /* ext4's auto_da_alloc (on unless mounted noauto_da_alloc): a rename over an existing file allocates the
       new file's delayed blocks and starts their writeback before returning. */
    struct statfs fs;
    return fstatfs(fd, &fs) == 0 && fs.f_type == NI_EXT4_SUPER_MAGIC;
}

/* Whether the ext4 file system on device `dev` has a journal: /sys/fs/ext4/<device name>/journal_task says
   "<none>" without one. The last answer is kept (a process copies to few file systems) in one word, so that
   threads never see one device's answer under another's number: the kernel's device number (12 + 20 bits),
   then a bit for "known", then the answer. */
static uint64_t g_ext4_journal;

static int ext4_has_journal(dev_t dev)
{
    uint64_t key = ((uint64_t)major(dev) << 20 | (minor(dev) & 0xfffff)) << 2 | 2;
    uint64_t known = __atomic_load_n(&g_ext4_journal, __ATOMIC_RELAXED);
    if ((known & ~(uint64_t)1) == key)
        return (int)(known & 1);
    char path[320], target[256], answer[16];
    snprintf(path, sizeof path, "/sys/dev/block/%u:%u", major(dev), minor(dev));
    ssize_t n = readlink(path, target, sizeof target - 1);
    int result = 0;
    if (n > 0)
    {
        target[n] = '\0';
        const char* name = strrchr(target, '/');
        snprintf(path, sizeof path, "/sys/fs/ext4/%s/journal_task", name != NULL ? name + 1 : target);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        n = fd >= 0 ? read(fd, answer, sizeof answer - 1) : -1;
        if (fd >= 0)
            close(fd);
        result = n > 0 && answer[0] != '<'; /* a task id; "<none>" without a journal */
    }
    __atomic_store_n(&g_ext4_journal, key | (uint64_t)result, __ATOMIC_RELAXED);
    return result;
}

int ni_sys_journal_covers_file(int fd)
{
    /* ext4 with a journal and XFS: a flush of the directory commits the journal up to the rename, in order,
       behind a cache flush of the device. The file's block allocation, size and unwritten-extent conversion
       were logged before the rename (the written-out pages stay under writeback until the conversion), so they
       are committed with it or earlier, and its data, written before the commit, is on stable storage with it. */
    struct statfs fs;
    struct stat st;
    if (fstatfs(fd, &fs) != 0)
        return 0;
    if (fs.f_type == NI_XFS_SUPER_MAGIC)
        return 1;
    return fs.f_type == NI_EXT4_SUPER_MAGIC && ni_sys_fstat(fd, &st) == 0 && ext4_has_journal(st.st_dev);
}

int32_t ni_sys_write_out(int fd)
{
    int rc;
    while ((rc = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                                                 SYNC_FILE_RANGE_WAIT_AFTER)) < 0 && errno == EINTR) { }
    return rc == 0 ? 0 : errno;
}

void ni_sys_start_write_out(int fd)
{
    /* Errors (EIO) are for the waiting call to report. */
    while (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) < 0 && errno == EINTR) { }
}

int32_t ni_sys_sync(int fd)
{
    int rc;
    while ((rc = fsync(fd)) < 0 && errno == EINTR) { }
    /* EINVAL: a file that cannot be synchronized (a special file system): there is nothing to flush. */
    return rc == 0 || errno == EINVAL ? 0 : errno;
}

