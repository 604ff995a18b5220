/*
 * The internal interface of the POSIX files. Two layers sit under the capability files (open.c, socket.c,
 * inherit.c, copy*.c, spawn.c, process.c, audit.c), which hold no conditional of their own:
 *  - unix.c: the creating calls with their close-on-exec fallbacks (the HAVE_* feature checks of
 *    cmake/configure.cmake), advisory locks, and the descriptor walks (close all but a keep list; visit
 *    every open descriptor);
 *  - the kernel layer, ni_sys_*: raw system calls, their numbers and the kernel's struct layouts.
 *    linux.c implements it for Linux; posix.c for the other POSIX systems (macOS, the BSDs), where most
 *    of it answers ENOSYS / EOPNOTSUPP and the callers take their portable path.
 * Every function returns 0 or an errno value, nothing else (no -1 with errno, no sentinel).
 */
#ifndef NI_UNIX_H
#define NI_UNIX_H

#include "ni_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The largest number a descriptor can have: a handle above it names no descriptor. */
#define NI_UNIX_FD_MAX INT_MAX

/*
 * The descriptor a handle names. A value no descriptor can have (negative, or above NI_UNIX_FD_MAX)
 * becomes -1, on which every call fails with EBADF: a plain (int) cast would wrap it onto a real
 * descriptor (0x100000003 -> 3) and close or change that one instead.
 */
static inline int ni_unix_fd(ni_handle handle)
{
    return handle >= 0 && handle <= NI_UNIX_FD_MAX ? (int)handle : -1;
}

/* Whether `error` says "not supported": EOPNOTSUPP, or ENOTSUP where that is another number. */
static inline int ni_unix_not_supported(int error)
{
#if defined(ENOTSUP) && ENOTSUP != EOPNOTSUPP
    if (error == ENOTSUP)
        return 1;
#endif
    return error == EOPNOTSUPP;
}

/* Code that runs in a spawned child between clone and execve, on a stack of its own inside our memory
   (CLONE_VM). AddressSanitizer keeps the state of every stack frame in shadow memory and assumes the
   thread's own stack: frames that never return (the child execs or exits) leave poisoned shadow behind,
   and its no-return hook scans the wrong stack, so a sanitized child fails inside ASan instead of
   reporting its error. That code (and only it) is left uninstrumented; it only makes system calls, on
   memory the parent prepared, and allocates nothing. */
#if defined(__GNUC__)
#  define NI_CHILD_CODE __attribute__((no_sanitize_address))
#else
#  define NI_CHILD_CODE
#endif

/* ---- unix.c: creating calls, all close-on-exec, EINTR retried ---- */

/* open(); where O_CLOEXEC is missing, FD_CLOEXEC is set right after (closing the descriptor on failure). */
int32_t ni_unix_open(const char* path, int flags, mode_t mode, int* fd);
int32_t ni_unix_pipe(int fds[2]);
/* The lowest free number (at least 0) as a copy of `fd`. */
int32_t ni_unix_dup(int fd, int* copy);
int32_t ni_unix_socket(int family, int type, int protocol, int* fd);
int32_t ni_unix_accept(int listener, struct sockaddr* address, socklen_t* length, int* fd);
/* A copy of `fd` at the lowest free number at least `from`, close-on-exec if `cloexec`. Child-safe. */
int32_t ni_unix_dup_from(int fd, int from, int cloexec, int* copy);
/* A connected pair of AF_UNIX stream sockets, both close-on-exec; writing to one whose peer is gone fails with
   EPIPE without raising SIGPIPE when sent with NI_MSG_NOSIGNAL (or, where that flag is missing, SO_NOSIGPIPE). */
int32_t ni_unix_socketpair(int fds[2]);
#if defined(MSG_NOSIGNAL)
#  define NI_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#  define NI_MSG_NOSIGNAL 0 /* the socket carries SO_NOSIGPIPE instead */
#endif

/* Starts fn(arg) on a detached thread that has every signal blocked but the libc's own (so that no handler
   runs on it, and a set*id() call, which glibc carries to every thread by a signal, still reaches it). */
int32_t ni_unix_start_thread(void* (*fn)(void*), void* arg);

/* Milliseconds of the monotonic clock: for deadlines. */
int64_t ni_unix_now_ms(void);
/* The deadline of a wait of `timeout_ms` (-1: none, INT64_MAX), and the timeout left until it (-1 for none, never
   below 0): what a wait interrupted by a signal (EINTR) waits again. */
int64_t ni_unix_deadline(int32_t timeout_ms);
int32_t ni_unix_time_left(int64_t deadline);

/* Closes a descriptor on a failure path, keeping errno as it was. */
void ni_unix_close_quietly(int fd);
/* Closes *handle unless it is NI_INVALID_HANDLE, and makes it NI_INVALID_HANDLE; EINTR counts as closed. */
int32_t ni_unix_release(ni_handle* handle);

/* ---- unix.c: advisory locks (flock) and access hints ---- */

/* Takes a shared or exclusive flock without blocking: EWOULDBLOCK when another holder conflicts. A file
   system or system that cannot lock (ENOTSUP, ENOLCK, no flock) gives 0: locking is advisory. */
int32_t ni_unix_lock(int fd, int exclusive);
/* Releases it before a close: a child forked meanwhile (not yet exec'd) shares the open file
   description, which would keep the lock after our close. */
void ni_unix_unlock(int fd);
/* An exclusive flock without blocking that reports what happened: 0 only when the lock is really held
   (EWOULDBLOCK: another holder; ENOLCK, EOPNOTSUPP, ENOSYS: no locks here). */
int32_t ni_unix_try_lock(int fd);
/* posix_fadvise RANDOM or SEQUENTIAL where the system has it; a hint, never an error. */
void ni_unix_advise(int fd, int random);

/* ---- unix.c: sparse files ---- */

/* Whether the file system says where the data of `fd` lies (SEEK_DATA); the offset may move. */
int ni_unix_seeks_data(int fd);
/* The first data extent at or after `from`: [*data, *hole). ENXIO when only a hole is left. */
int32_t ni_unix_next_extent(int fd, int64_t from, int64_t* data, int64_t* hole);

/* ---- unix.c: walking the descriptor table ---- */

typedef int32_t (*ni_fd_visitor)(int fd, void* state);

/*
 * Calls visit(fd, state) for every open descriptor, lowest first, and stops at the first nonzero result,
 * which it returns. Lists /proc/self/fd where there is one (ni_sys_list_fds), else asks every number below
 * the descriptor limit (RLIMIT_NOFILE, at most 2^20). Child-safe: no allocation.
 */
int32_t ni_unix_for_each_fd(ni_fd_visitor visit, void* state);

/*
 * Applies close_range(flags) to every number but those in `keep` (ascending; duplicates allowed): the
 * gaps between kept numbers, and everything above the last. ENOSYS when the kernel cannot (see
 * ni_sys_close_range); the caller then walks the descriptors. Child-safe.
 */
int32_t ni_unix_close_except(const int* keep, int32_t count, unsigned int flags);

/* Whether `fd` is in `keep` (ascending). Child-safe. */
int ni_unix_is_kept(const int* keep, int32_t count, int fd);

/* ---- The kernel layer: linux.c, or posix.c elsewhere ---- */

/* fstat, lstat and stat without binding to a libc symbol newer than the library's floor (glibc 2.33). */
int32_t ni_sys_fstat(int fd, struct stat* st);
int32_t ni_sys_lstat(const char* path, struct stat* st);
int32_t ni_sys_stat(const char* path, struct stat* st);
/* A file's modification time. */
struct timespec ni_sys_mtime(const struct stat* st);

/* Sets or clears FD_CLOEXEC in the cheapest way the system allows. */
int32_t ni_sys_set_cloexec(int fd, int cloexec);

/* close_range(first, last, flags) (CLOSE_RANGE_CLOEXEC: mark instead of closing). ENOSYS when the kernel
   cannot: no close_range (before Linux 5.9, other systems) or not with these flags (CLOEXEC before 5.11);
   remembered, so later calls do not ask again. Child-safe. */
#define NI_CLOSE_RANGE_CLOEXEC (1U << 2) /* linux/close_range.h: not in every libc's headers */
int32_t ni_sys_close_range(unsigned int first, unsigned int last, unsigned int flags);

/* Lists /proc/self/fd, calling visit for each descriptor (but the listing's own) as
   ni_unix_for_each_fd does. ENOSYS where the system has no such listing. Child-safe. */
int32_t ni_sys_list_fds(ni_fd_visitor visit, void* state);

/* The path a descriptor was opened with, or "" (always NUL-terminated, size >= 1). */
void ni_sys_fd_path(int fd, char* buffer, size_t size);

/* Reserves `length` bytes of disk without changing the size (fallocate KEEP_SIZE). ENOTSUP elsewhere. */
int32_t ni_sys_preallocate(int fd, int64_t length);

/* ---- The kernel layer for the copy engine ---- */

/* A reflink of all of `in` into the empty `out` (FICLONE). Any error means "not here". */
int32_t ni_sys_clone_file(int out, int in);
/* One copy_file_range / sendfile call of up to `want` bytes at both files' offsets: *copied is what it
   moved (0 at the end of the source). ENOSYS where the system has no such call. */
int32_t ni_sys_copy_file_range(int in, int out, size_t want, size_t* copied);
int32_t ni_sys_sendfile(int in, int out, size_t want, size_t* copied);
/* An unnamed temporary file in `dir` (O_TMPFILE), given a name later by ni_sys_link_tmpfile. EOPNOTSUPP
   where the system, the file system or a missing /proc (the link goes through /proc/self/fd) cannot. */
int32_t ni_sys_open_tmpfile(const char* dir, int* fd);
/* Gives such a file the name `path`: EEXIST if the name is taken. */
int32_t ni_sys_link_tmpfile(int fd, const char* path);
/* rename() that fails with EEXIST instead of replacing (renameat2 RENAME_NOREPLACE). ENOSYS or EINVAL
   where the kernel or the file system cannot. */
int32_t ni_sys_rename_noreplace(const char* from, const char* to);
/* Swaps two existing names atomically (renameat2 RENAME_EXCHANGE). ENOSYS or EINVAL where the kernel or
   the file system cannot. */
int32_t ni_sys_rename_exchange(const char* a, const char* b);
/* Whether a rename over an existing file starts writeback of the file renamed, on the file system of `fd`
   (ext4's auto_da_alloc): the copy then swaps the names instead, which does not. */
int ni_sys_replace_starts_writeback(int fd);
/* Flushes a file's data and metadata (or a directory's entries) to stable storage: fsync, F_FULLFSYNC on
   macOS (fsync there stops at the drive's cache). A file system that cannot (EINVAL) has nothing to flush. */
int32_t ni_sys_sync(int fd);
/* Whether, on the file system of `fd`, the flush of a directory after a rename into it also puts the renamed
   file's data and metadata on stable storage, in the same journal commit or an earlier one, provided its data
   was written out before (ni_sys_write_out): ext4 with a journal, XFS. A durable copy then flushes once. */
int ni_sys_journal_covers_file(int fd);
/* Writes a file's dirty pages and waits for them (sync_file_range), without flushing the device's cache or
   the file's metadata. ENOSYS where the system has no such call. */
int32_t ni_sys_write_out(int fd);
/* Starts writing a file's dirty pages without waiting (the wait is ni_sys_write_out's); nothing where the system
   has no such call. */
void ni_sys_start_write_out(int fd);

/* ---- The kernel layer for processes ---- */

/* The signal mask, through the kernel itself where libc's sigprocmask would leave its own signals
   unblocked (glibc's posix_spawn blocks them too: no handler may run in a child sharing our memory).
   Child-safe. */
void ni_sys_set_signal_mask(const sigset_t* set, sigset_t* old);
/* Puts signal `sig` back to its default action, unless it is there already or ignored with `keep_ignored`; nothing
   for the libc's own signals. On Linux through the kernel itself: musl's sigaction takes a lock for SIGABRT that
   its fork holds during the system call, and a child started on a copy of our memory (NI_SPAWN_SUSPENDED; every
   child under qemu-user) while another thread forked would wait for it for ever. Child-safe. */
void ni_sys_default_signal(int sig, int keep_ignored);
/* How ni_sys_start_child starts a child (bits; 0: on a copy of our memory and of our descriptor table). */
#define NI_CHILD_SHARE_MEMORY 1      /* until it calls execve or exits, and the call returns only then */
#define NI_CHILD_SHARE_DESCRIPTORS 2 /* with the memory: our table, until it takes its own (ni_sys_own_descriptors) */
/* Starts child(arg) in a new process, with every signal blocked around the start (so that no handler of ours
   runs in the child before it resets them; the caller's mask is back on return). NI_CHILD_SHARE_MEMORY: the
   child shares our memory until it calls execve or exits, and this returns only then (Linux: clone(CLONE_VM |
   CLONE_VFORK); fork elsewhere, where the parent reads a report channel to learn how the child did). Without
   it the child gets a copy of our memory and this returns at once (fork): for a child that waits before
   execve, and must not hold us meanwhile. NI_CHILD_SHARE_DESCRIPTORS only where ni_sys_can_share_descriptors
   says so. */
int32_t ni_sys_start_child(int (*child)(void*), void* arg, int how, pid_t* pid);
/* Whether a child can start on our memory and our descriptor table, so that its failure is read from the
   memory and its table is copied only as far as it needs (Linux, where clone(CLONE_VM | CLONE_VFORK |
   CLONE_FILES) really shares both: not under qemu-user or valgrind, which run that clone as a fork or refuse
   it). Asked once per process, in a copy of it that tries such a clone, so that a layer which ends the process
   over it (valgrind) ends only the copy. */
int ni_sys_can_share_descriptors(void);
/* In a child started with NI_CHILD_SHARE_DESCRIPTORS: takes a table of its own holding only our descriptors
   numbered below `below` (Linux: close_range(below, ~0U, CLOSE_RANGE_UNSHARE), which copies no more; where that
   is refused, before 5.9 or by a seccomp filter, unshare(CLONE_FILES), which copies them all). Child-safe. */
int32_t ni_sys_own_descriptors(unsigned int below);
/* The calling process's pid, asked of the kernel: a libc may answer from a cache that a child sharing our
   memory would read as ours. Child-safe. */
pid_t ni_sys_own_pid(void);
/* 0, or ENOTSUP for NI_SPAWN_* flags this system cannot honour (NI_SPAWN_KILL_ON_PARENT_EXIT beyond Linux). */
int32_t ni_sys_check_spawn_flags(int32_t flags);
/* Names the calling thread as tools show it (ps -L, top -H, /proc/<pid>/task/<tid>/comm; 15 characters at most): on
   Linux a new thread otherwise shows its creator's name. Nothing elsewhere. */
void ni_sys_name_thread(const char* name);
/* In a child: SIGKILL when the thread that created it exits (PR_SET_PDEATHSIG), then ESRCH if `parent` is no
   longer its parent (it died before the signal was armed). ENOTSUP elsewhere. Child-safe. */
int32_t ni_sys_die_with_parent(pid_t parent);

typedef int32_t (*ni_process_visitor)(pid_t pid, pid_t parent, pid_t group, char run_state, void* state);
/* Calls visit(pid, parent pid, process group, run state: R, S, D, T, Z... as in /proc/<pid>/stat) for every
   process of the system and stops at the first nonzero result, which it returns. ENOSYS where the system has
   no such listing. */
int32_t ni_sys_list_processes(ni_process_visitor visit, void* state);

/* ---- The kernel layer for terminals ---- */

/* A new pseudo-terminal, unlocked: its master and its slave (opened without becoming our controlling
   terminal), both close-on-exec. Nothing is left open on failure. */
int32_t ni_sys_open_pty(int* master, int* slave);
/* A pidfd on the process (close-on-exec): ENOSYS where the kernel has none (before Linux 5.3). */
int32_t ni_sys_pidfd_open(pid_t pid, int* fd);
/* pidfd_send_signal: ENOSYS where the kernel cannot. */
int32_t ni_sys_pidfd_signal(int pidfd, int signal);
/* The wait status the kernel keeps in a pidfd once another waiter collected the child (PIDFD_INFO_EXIT,
   Linux 6.15+). EAGAIN: not recorded (yet: it comes a moment after the other side's collection; before
   6.15 it never comes); ENOSYS: no PIDFD_GET_INFO at all (before 6.13, an emulator, other systems). */
int32_t ni_sys_pidfd_exit_status(int pidfd, int* status);
/* A set of pidfds one thread waits on (epoll, close-on-exec): ENOTSUP where there is none. */
int32_t ni_sys_exit_set_create(int* set);
/* Adds `pidfd` to `set`, reported once with `key` when it becomes readable (the child exited). */
int32_t ni_sys_exit_set_add(int set, int pidfd, int64_t key);
/* Waits for members of `set` that are readable: their keys (at most `capacity`) and their number. EINTR is the
   caller's to retry. */
int32_t ni_sys_exit_set_wait(int set, int32_t timeout_ms, int64_t* keys, int32_t capacity, int32_t* count);

#endif
