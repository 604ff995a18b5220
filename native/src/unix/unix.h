/* The POSIX platform layer: the one place where the Unix files differ by system or libc. */
#ifndef NI_UNIX_H
#define NI_UNIX_H

#include "ni_internal.h"

#include <sys/stat.h>
#include <sys/types.h>

/* fstat without binding to a newer libc symbol version than the library's floor. */
int ni_unix_fstat(int fd, struct stat* st);

/*
 * The non-atomic fallback: sets FD_CLOEXEC on a descriptor just created without it and records
 * that `capability` is not atomic here. On failure the descriptor is closed. Returns 0 or errno.
 */
int ni_unix_cloexec_fallback(int fd, uint32_t capability);

/* Closes a descriptor, preserving errno (used on failure paths). */
void ni_unix_close_quietly(int fd);

#endif
