/*
 * noinherit.h - the one public header of the noinherit library.
 *
 * Every descriptor (POSIX) or handle (Windows) that a function of this library creates is
 * non-inheritable from the instant it exists: it is created close-on-exec / with
 * bInheritHandle=FALSE in the creating call itself, so no other thread can start a child that
 * receives it in between. Where the running system has no atomic form (see ni_capabilities), the
 * fallback sets the flag immediately after creation and closes the descriptor if that fails.
 *
 * Conventions shared by every function:
 *  - The return value is 0 on success, otherwise the platform's own error code: errno on POSIX,
 *    the Win32 (or WSA) error code on Windows. Nothing depends on errno / GetLastError after the
 *    call, so callers need no thread-local error state.
 *  - Results come back through out-parameters, which are written only on success.
 *  - Flag words use the portable NI_* constants below; unknown bits fail with EINVAL
 *    (ERROR_INVALID_PARAMETER on Windows) and never reach the operating system.
 *  - Strings are NUL-terminated UTF-8.
 *  - EINTR is retried inside the library; it never reaches the caller.
 *  - A required pointer argument that is NULL fails with EINVAL (EFAULT is never produced).
 */
#ifndef NOINHERIT_H
#define NOINHERIT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(NI_STATIC)
#  define NI_API
#elif defined(_WIN32)
#  if defined(NI_BUILDING)
#    define NI_API __declspec(dllexport)
#  else
#    define NI_API __declspec(dllimport)
#  endif
#else
#  define NI_API __attribute__((visibility("default")))
#endif

/* A file descriptor on POSIX; a HANDLE or SOCKET on Windows. */
typedef intptr_t ni_handle;
#define NI_INVALID_HANDLE ((ni_handle)-1)

/* ni_open flags. Exactly one access mode; the rest may be combined. */
#define NI_O_RDONLY    0x0000
#define NI_O_WRONLY    0x0001
#define NI_O_RDWR      0x0002
#define NI_O_ACCMODE   0x0003  /* mask of the access mode bits */
#define NI_O_CREAT     0x0010  /* create the file if it does not exist (with `mode`) */
#define NI_O_EXCL      0x0020  /* with NI_O_CREAT: fail with EEXIST if it exists */
#define NI_O_TRUNC     0x0040  /* truncate to 0 bytes (after the lock, if a lock is asked for) */
#define NI_O_APPEND    0x0080  /* every write appends */
#define NI_O_SYNC      0x0100  /* writes reach the device before returning (write-through) */
#define NI_O_NOFOLLOW  0x0200  /* fail with ELOOP if the last path component is a symlink */
#define NI_O_NOTDIR    0x0400  /* fail with EISDIR if the path names a directory, even for reading */
#define NI_O_SHLOCK    0x1000  /* take a shared advisory lock (flock), without blocking */
#define NI_O_EXLOCK    0x2000  /* take an exclusive advisory lock (flock), without blocking */
#define NI_O_SHARE_READ   0x4000   /* Windows share mode: others may read */
#define NI_O_SHARE_WRITE  0x8000   /* Windows share mode: others may write */
#define NI_O_SHARE_DELETE 0x10000  /* Windows share mode: others may delete or rename */
#define NI_O_DELETE_ON_CLOSE 0x20000 /* Windows: FILE_FLAG_DELETE_ON_CLOSE. POSIX: ENOTSUP */
#define NI_O_ASYNC      0x40000  /* Windows: FILE_FLAG_OVERLAPPED. POSIX: ignored (files have no async mode) */
#define NI_O_RANDOM     0x80000  /* access hint: random (posix_fadvise / FILE_FLAG_RANDOM_ACCESS) */
#define NI_O_SEQUENTIAL 0x100000 /* access hint: sequential (posix_fadvise / FILE_FLAG_SEQUENTIAL_SCAN) */
/*
 * Sharing. POSIX: NI_O_SHLOCK / NI_O_EXLOCK take an flock; if another descriptor holds a conflicting
 * lock, ni_open closes the descriptor it opened and fails with EWOULDBLOCK. Locking is advisory: a file
 * system that cannot lock (ENOTSUP, ENOLCK) does not fail the open. NI_O_TRUNC truncates only once the
 * lock is held, so a file locked by someone else is never truncated. NI_O_SHARE_* are ignored.
 * An flock belongs to the open file description, which a child forked but not yet exec'd shares:
 * release it with flock(fd, LOCK_UN) before closing, or it may outlive the close for a moment.
 * Windows: the share mode of CreateFileW is NI_O_SHARE_* when any sharing or lock flag is given
 * (NI_O_EXLOCK alone: no sharing; NI_O_SHLOCK alone: read sharing), otherwise read|write|delete as on
 * POSIX; a conflict fails with ERROR_SHARING_VIOLATION.
 */

/* ni_socket families and types. Protocols are the IANA numbers (0, 6 = TCP, 17 = UDP, ...). */
#define NI_AF_UNSPEC     0
#define NI_AF_UNIX       1
#define NI_AF_INET       2
#define NI_AF_INET6      3

#define NI_SOCK_STREAM    1
#define NI_SOCK_DGRAM     2
#define NI_SOCK_RAW       3
#define NI_SOCK_SEQPACKET 5

/* ni_copyfile flags. */
#define NI_COPY_OVERWRITE 0x0001  /* replace an existing destination instead of failing with EEXIST */

/* ni_capabilities bits: set when the creation is atomic (non-inheritable in the creating call). */
#define NI_CAP_OPEN_ATOMIC   0x0001  /* ni_open, ni_copyfile: O_CLOEXEC / bInheritHandle=FALSE */
#define NI_CAP_SOCKET_ATOMIC 0x0002  /* ni_socket: SOCK_CLOEXEC / WSA_FLAG_NO_HANDLE_INHERIT */
#define NI_CAP_ACCEPT_ATOMIC 0x0004  /* ni_accept: accept4(SOCK_CLOEXEC) */
#define NI_CAP_PIPE_ATOMIC   0x0008  /* ni_pipe: pipe2(O_CLOEXEC) / CreatePipe */
#define NI_CAP_DUP_ATOMIC    0x0010  /* ni_dup: F_DUPFD_CLOEXEC / DuplicateHandle */

/* Portable error classes returned by ni_error_kind (the class of a platform error code). */
#define NI_ERR_OTHER          0
#define NI_ERR_NOENT          1   /* ENOENT, ERROR_FILE_NOT_FOUND */
#define NI_ERR_NOTDIR_PATH    2   /* a directory in the path is missing: ERROR_PATH_NOT_FOUND */
#define NI_ERR_ACCESS         3   /* EACCES, EPERM, ERROR_ACCESS_DENIED */
#define NI_ERR_EXIST          4   /* EEXIST, ERROR_FILE_EXISTS, ERROR_ALREADY_EXISTS */
#define NI_ERR_ISDIR          5   /* EISDIR */
#define NI_ERR_NOTDIR         6   /* ENOTDIR */
#define NI_ERR_NAMETOOLONG    7   /* ENAMETOOLONG, ERROR_FILENAME_EXCED_RANGE */
#define NI_ERR_WOULDBLOCK     8   /* EAGAIN / EWOULDBLOCK, WSAEWOULDBLOCK, ERROR_SHARING_VIOLATION */
#define NI_ERR_INVAL          9   /* EINVAL, ERROR_INVALID_PARAMETER, WSAEINVAL */
#define NI_ERR_BADF           10  /* EBADF, ERROR_INVALID_HANDLE, WSAENOTSOCK on a non-socket */
#define NI_ERR_MFILE          11  /* EMFILE, ENFILE, ERROR_TOO_MANY_OPEN_FILES */
#define NI_ERR_NOSPC          12  /* ENOSPC, ERROR_DISK_FULL */
#define NI_ERR_FBIG           13  /* EFBIG */
#define NI_ERR_LOOP           14  /* ELOOP */
#define NI_ERR_ROFS           15  /* EROFS, ERROR_WRITE_PROTECT */
#define NI_ERR_AFNOSUPPORT    16  /* EAFNOSUPPORT, WSAEAFNOSUPPORT */
#define NI_ERR_PROTONOSUPPORT 17  /* EPROTONOSUPPORT, WSAEPROTONOSUPPORT */
#define NI_ERR_PROTOTYPE      18  /* EPROTOTYPE, WSAEPROTOTYPE */
#define NI_ERR_SOCKTNOSUPPORT 19  /* ESOCKTNOSUPPORT, WSAESOCKTNOSUPPORT */
#define NI_ERR_NOTSOCK        20  /* ENOTSOCK, WSAENOTSOCK */
#define NI_ERR_OPNOTSUPP      21  /* EOPNOTSUPP, WSAEOPNOTSUPP */
#define NI_ERR_CONNABORTED    22  /* ECONNABORTED, WSAECONNABORTED */
#define NI_ERR_NOMEM          23  /* ENOMEM, ENOBUFS, ERROR_NOT_ENOUGH_MEMORY */
#define NI_ERR_INTR           24  /* EINTR (never returned by this library; here for completeness) */
#define NI_ERR_CONNRESET      25  /* ECONNRESET, WSAECONNRESET */
#define NI_ERR_NOTCONN        26  /* ENOTCONN, WSAENOTCONN */

/*
 * Opens (and with NI_O_CREAT creates, with permission bits `mode` filtered by the umask) a file,
 * non-inheritable. On failure no descriptor is left open, whichever step failed.
 */
NI_API int32_t ni_open(const char* path, int32_t flags, int32_t mode, ni_handle* result);

/*
 * Creates a non-inheritable socket. family is NI_AF_*, type is NI_SOCK_*, protocol an IANA
 * protocol number (0 picks the default). Errors: EAFNOSUPPORT for an unknown family, EPROTOTYPE
 * for an unknown type, otherwise what socket() reports.
 * Not atomic on macOS/BSD without SOCK_CLOEXEC: FD_CLOEXEC is set right after socket().
 */
NI_API int32_t ni_socket(int32_t family, int32_t type, int32_t protocol, ni_handle* result);

/*
 * Accepts a connection on `listener`; the new socket is non-inheritable. `address` may be NULL
 * (then address_length is ignored); otherwise *address_length is the size of the buffer on input
 * and the size of the peer address on output. A non-blocking listener with no pending connection
 * fails with EAGAIN. ECONNABORTED (peer gave up before the accept) is returned, not retried.
 * An address buffer too small for the peer's address: POSIX truncates it and reports the full
 * length; Windows fails with WSAEFAULT.
 * Not atomic where accept4 is missing (macOS): FD_CLOEXEC is set right after accept().
 */
NI_API int32_t ni_accept(ni_handle listener, void* address, int32_t* address_length, ni_handle* result);

/*
 * Copies the file `source` to `destination`; both are opened non-inheritable. As File.Copy does, the
 * destination gets the source's permission bits (rwx of user, group and other, whatever the umask;
 * not setuid/setgid/sticky) and modification time. A source that is not a directory is read to its
 * end (a FIFO or a device too, as File.Copy would).
 * Without NI_COPY_OVERWRITE an existing destination fails with EEXIST (the source itself included).
 * With it, copying a file onto itself (same device and inode, through any path, hard link or
 * symlink) fails with EINVAL and changes nothing.
 * A source that is a directory fails with EISDIR; a destination that is a directory with EEXIST
 * without NI_COPY_OVERWRITE, EISDIR with it. POSIX: like File.Copy, it holds a shared flock on the
 * source and an exclusive one on the destination, without blocking: a file another descriptor holds
 * a conflicting lock on fails with EWOULDBLOCK and nothing is written. If the copy fails after it
 * created the destination, the destination is removed.
 */
NI_API int32_t ni_copyfile(const char* source, const char* destination, int32_t flags);

/* Creates an anonymous pipe whose two ends are non-inheritable. */
NI_API int32_t ni_pipe(ni_handle* read_end, ni_handle* write_end);

/* Duplicates `handle` into a new, non-inheritable descriptor (lowest free number on POSIX). */
NI_API int32_t ni_dup(ni_handle handle, ni_handle* result);

/* Closes a descriptor or handle (socket-aware on Windows). EINTR is treated as closed (Linux). */
NI_API int32_t ni_close(ni_handle handle);

/* *inheritable = 1 if a child started now would inherit `handle`, else 0. */
NI_API int32_t ni_get_inheritable(ni_handle handle, int32_t* inheritable);

/* Makes `handle` inheritable (1) or not (0). */
NI_API int32_t ni_set_inheritable(ni_handle handle, int32_t inheritable);

/* Reserves `length` bytes of disk for the file without changing its size (fallocate with
 * FALLOC_FL_KEEP_SIZE on Linux; the allocation size on Windows, only ever grown). ENOTSUP /
 * EOPNOTSUPP where the file system cannot. */
NI_API int32_t ni_preallocate(ni_handle handle, int64_t length);

/* NI_CAP_* bits describing which creating calls are atomic on the running system. */
NI_API uint32_t ni_capabilities(void);

/* The library version, "MAJOR.MINOR.PATCH". */
NI_API const char* ni_version(void);

/* The portable class (NI_ERR_*) of a platform error code returned by this library. */
NI_API int32_t ni_error_kind(int32_t error);

/*
 * Writes the platform's message for `error` (strerror / FormatMessage) as UTF-8 into `buffer`
 * (always NUL-terminated, truncated to `size` bytes). Returns 0, or EINVAL if buffer is NULL or
 * size < 1.
 */
NI_API int32_t ni_error_message(int32_t error, char* buffer, int32_t size);

#ifdef __cplusplus
}
#endif

#endif /* NOINHERIT_H */
