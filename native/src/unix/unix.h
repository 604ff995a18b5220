/* The POSIX platform layer: the one place where the Unix files differ by system or libc. */
#ifndef NI_UNIX_H
#define NI_UNIX_H

#include "ni_internal.h"

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * The descriptor a handle names. A value no descriptor can have (negative, or above INT_MAX) becomes
 * -1, on which every call fails with EBADF: a plain (int) cast would wrap it onto a real descriptor
 * (0x100000003 -> 3) and close or change that one instead.
 */
static inline int ni_unix_fd(ni_handle handle)
{
    return handle >= 0 && handle <= INT_MAX ? (int)handle : -1;
}

/* fstat without binding to a newer libc symbol version than the library's floor. */
int ni_unix_fstat(int fd, struct stat* st);
/* lstat, the same way. */
int ni_unix_lstat(const char* path, struct stat* st);

/*
 * The non-atomic fallback: sets FD_CLOEXEC on a descriptor just created without it and records
 * that `capability` is not atomic here. On failure the descriptor is closed. Returns 0 or errno.
 */
int ni_unix_cloexec_fallback(int fd, uint32_t capability);

/* Closes a descriptor, preserving errno (used on failure paths). */
void ni_unix_close_quietly(int fd);


/*
 * close_range(first, last, flags) through syscall() (no libc symbol: glibc 2.34 would raise the floor).
 * Returns 0; -1 when the kernel cannot (ENOSYS before 5.9, EINVAL for flags it does not know, such as
 * CLOSE_RANGE_CLOEXEC before 5.11; remembered, so later calls do not ask again); else errno.
 * Async-signal-safe: usable in a vfork child. Always -1 where the system has no close_range.
 */
int ni_unix_close_range(unsigned int first, unsigned int last, unsigned int flags);
/*
 * Whether FD_CLOEXEC is the only descriptor flag, so that F_SETFD can set the whole word in one call
 * without reading it first. True on Linux; other systems may define more flags (FD_CLOFORK...).
 */
#if defined(__linux__)
#  define NI_UNIX_FD_FLAGS_ARE_CLOEXEC_ONLY 1
#else
#  define NI_UNIX_FD_FLAGS_ARE_CLOEXEC_ONLY 0
#endif

#ifndef CLOSE_RANGE_CLOEXEC
#  define CLOSE_RANGE_CLOEXEC (1U << 2) /* linux/close_range.h: not in every libc's headers */
#endif

#endif
