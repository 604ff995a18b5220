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
 *  - Windows gives the Win32 code where POSIX gives an errno: EINVAL is ERROR_INVALID_PARAMETER, EBADF
 *    ERROR_INVALID_HANDLE, and so on; ni_error_kind puts both in the same NI_ERR_* class.
 * Each function's paragraph is its contract: what it does, its errors, its guarantees. How it is done
 * (the system calls, fallbacks, the Windows helper process) is in docs/architecture.md.
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
#define NI_O_RDONLY 0x0000  /* read only */
#define NI_O_WRONLY 0x0001  /* write only */
#define NI_O_RDWR 0x0002  /* read and write */
#define NI_O_ACCMODE 0x0003  /* mask of the access mode bits */
#define NI_O_CREAT 0x0010  /* create the file if it does not exist (with `mode`) */
#define NI_O_EXCL 0x0020  /* with NI_O_CREAT: fail with EEXIST if it exists */
#define NI_O_TRUNC 0x0040  /* truncate to 0 bytes (after the lock, if one is asked for); needs write access */
#define NI_O_APPEND 0x0080  /* every write appends */
#define NI_O_SYNC 0x0100  /* writes reach the device before returning (write-through) */
#define NI_O_NOFOLLOW 0x0200  /* fail with ELOOP if the last path component is a symlink */
#define NI_O_NOTDIR 0x0400  /* fail with EISDIR if the path names a directory, even for reading */
#define NI_O_SHLOCK 0x1000  /* take a shared advisory lock (flock), without blocking */
#define NI_O_EXLOCK 0x2000  /* take an exclusive advisory lock (flock), without blocking */
#define NI_O_SHARE_READ 0x4000  /* Windows share mode: others may read */
#define NI_O_SHARE_WRITE 0x8000  /* Windows share mode: others may write */
#define NI_O_SHARE_DELETE 0x10000  /* Windows share mode: others may delete or rename */
#define NI_O_DELETE_ON_CLOSE 0x20000  /* Windows: FILE_FLAG_DELETE_ON_CLOSE. POSIX: ENOTSUP */
#define NI_O_ASYNC 0x40000  /* Windows: FILE_FLAG_OVERLAPPED. POSIX: ignored (files have no async mode) */
#define NI_O_RANDOM 0x80000  /* access hint: random (posix_fadvise / FILE_FLAG_RANDOM_ACCESS) */
#define NI_O_SEQUENTIAL 0x100000  /* access hint: sequential (posix_fadvise / FILE_FLAG_SEQUENTIAL_SCAN) */

/* ni_socket families and types. Protocols are the IANA numbers (0, 6 = TCP, 17 = UDP, ...). */
#define NI_AF_UNSPEC 0  /* never valid for ni_socket */
#define NI_AF_UNIX 1  /* AF_UNIX */
#define NI_AF_INET 2  /* AF_INET */
#define NI_AF_INET6 3  /* AF_INET6 */

#define NI_SOCK_STREAM 1  /* SOCK_STREAM */
#define NI_SOCK_DGRAM 2  /* SOCK_DGRAM */
#define NI_SOCK_RAW 3  /* SOCK_RAW */
#define NI_SOCK_SEQPACKET 5  /* SOCK_SEQPACKET */

/* ni_copyfile flags. */
#define NI_COPY_OVERWRITE 0x0001  /* replace an existing destination instead of failing with EEXIST */
#define NI_COPY_DURABLE 0x0002  /* on stable storage when it returns; old or whole new whenever the power goes */

/* ni_capabilities bits: set when the creation is atomic (non-inheritable in the creating call). */
#define NI_CAP_OPEN_ATOMIC 0x0001  /* ni_open, ni_copyfile: O_CLOEXEC / bInheritHandle=FALSE */
#define NI_CAP_SOCKET_ATOMIC 0x0002  /* ni_socket: SOCK_CLOEXEC / WSA_FLAG_NO_HANDLE_INHERIT */
#define NI_CAP_ACCEPT_ATOMIC 0x0004  /* ni_accept: accept4(SOCK_CLOEXEC) */
#define NI_CAP_PIPE_ATOMIC 0x0008  /* ni_pipe: pipe2(O_CLOEXEC) / CreatePipe */
#define NI_CAP_DUP_ATOMIC 0x0010  /* ni_dup: F_DUPFD_CLOEXEC / DuplicateHandle */

/* Portable error classes returned by ni_error_kind (the class of a platform error code). */
#define NI_ERR_OTHER 0  /* anything not below */
#define NI_ERR_NOENT 1  /* ENOENT, ERROR_FILE_NOT_FOUND */
#define NI_ERR_NOTDIR_PATH 2  /* a directory in the path is missing: ERROR_PATH_NOT_FOUND */
#define NI_ERR_ACCESS 3  /* EACCES, EPERM, ERROR_ACCESS_DENIED */
#define NI_ERR_EXIST 4  /* EEXIST, ERROR_FILE_EXISTS, ERROR_ALREADY_EXISTS */
#define NI_ERR_ISDIR 5  /* EISDIR */
#define NI_ERR_NOTDIR 6  /* ENOTDIR */
#define NI_ERR_NAMETOOLONG 7  /* ENAMETOOLONG, ERROR_FILENAME_EXCED_RANGE */
#define NI_ERR_WOULDBLOCK 8  /* EAGAIN / EWOULDBLOCK, WSAEWOULDBLOCK, ERROR_SHARING_VIOLATION */
#define NI_ERR_INVAL 9  /* EINVAL, ERROR_INVALID_PARAMETER, WSAEINVAL */
#define NI_ERR_BADF 10  /* EBADF, ERROR_INVALID_HANDLE, WSAENOTSOCK on a non-socket */
#define NI_ERR_MFILE 11  /* EMFILE, ENFILE, ERROR_TOO_MANY_OPEN_FILES */
#define NI_ERR_NOSPC 12  /* ENOSPC, ERROR_DISK_FULL */
#define NI_ERR_FBIG 13  /* EFBIG */
#define NI_ERR_LOOP 14  /* ELOOP */
#define NI_ERR_ROFS 15  /* EROFS, ERROR_WRITE_PROTECT */
#define NI_ERR_AFNOSUPPORT 16  /* EAFNOSUPPORT, WSAEAFNOSUPPORT */
#define NI_ERR_PROTONOSUPPORT 17  /* EPROTONOSUPPORT, WSAEPROTONOSUPPORT */
#define NI_ERR_PROTOTYPE 18  /* EPROTOTYPE, WSAEPROTOTYPE */
#define NI_ERR_SOCKTNOSUPPORT 19  /* ESOCKTNOSUPPORT, WSAESOCKTNOSUPPORT */
#define NI_ERR_NOTSOCK 20  /* ENOTSOCK, WSAENOTSOCK */
#define NI_ERR_OPNOTSUPP 21  /* EOPNOTSUPP, WSAEOPNOTSUPP */
#define NI_ERR_CONNABORTED 22  /* ECONNABORTED, WSAECONNABORTED */
#define NI_ERR_NOMEM 23  /* ENOMEM, ENOBUFS, ERROR_NOT_ENOUGH_MEMORY */
#define NI_ERR_INTR 24  /* EINTR (never returned by this library; here for completeness) */
#define NI_ERR_CONNRESET 25  /* ECONNRESET, WSAECONNRESET */
#define NI_ERR_NOTCONN 26  /* ENOTCONN, WSAENOTCONN */
#define NI_ERR_CANCELED 27  /* ECANCELED, ERROR_CANCELLED: a progress callback cancelled the call */
#define NI_ERR_SRCH 28  /* ESRCH, ERROR_NOTHING_TO_TERMINATE: no such process (ni_kill on a child that is gone) */
#define NI_ERR_CHILD 29  /* ECHILD, ERROR_WAIT_NO_CHILDREN: not a child to wait for, or its status is gone */
#define NI_ERR_PIPE 30  /* EPIPE, ERROR_BROKEN_PIPE, ERROR_NO_DATA: the other end of a pipe is closed */

/*
 * Opens the file `path` (with NI_O_CREAT, creates it with the permission bits `mode`, filtered by the
 * umask), non-inheritable. Errors: EINVAL for unknown bits, both access modes, NI_O_SHLOCK with
 * NI_O_EXLOCK, NI_O_EXCL without NI_O_CREAT, NI_O_TRUNC with NI_O_RDONLY (truncating needs write access,
 * as FileMode.Truncate does), or `mode` outside 07777, all before anything is opened; ENOTSUP for
 * NI_O_DELETE_ON_CLOSE on POSIX; EISDIR for a directory with NI_O_NOTDIR or a write access; EWOULDBLOCK
 * (Windows: ERROR_SHARING_VIOLATION) when another holder's lock or share mode conflicts; otherwise the
 * system's (ENOENT, EACCES, ELOOP with NI_O_NOFOLLOW...). On failure no descriptor is left open, whichever
 * step failed. Sharing, POSIX: NI_O_SHLOCK / NI_O_EXLOCK take an advisory flock without blocking; a file
 * system that cannot lock (ENOTSUP, ENOLCK) does not fail the open; NI_O_TRUNC truncates only once the
 * lock is held, so a file locked by someone else is never truncated; NI_O_SHARE_* are ignored. The lock
 * belongs to the open file description, which a child forked but not yet exec'd shares: release it with
 * flock(fd, LOCK_UN) before closing, or it may outlive the close for a moment. Sharing, Windows: the share
 * mode is NI_O_SHARE_* when any sharing or lock flag is given (NI_O_EXLOCK alone: none; NI_O_SHLOCK alone:
 * read), otherwise read | write | delete, as on POSIX.
 */
NI_API int32_t ni_open(const char* path, int32_t flags, int32_t mode, ni_handle* result);

/*
 * Creates a non-inheritable socket: family NI_AF_*, type NI_SOCK_*, protocol an IANA protocol number (0
 * picks the default). Errors: EAFNOSUPPORT for an unknown family, EPROTOTYPE for an unknown type,
 * EPROTONOSUPPORT for a negative protocol, otherwise the system's. Not atomic where the system has no
 * SOCK_CLOEXEC (macOS): the flag is set right after creation (ni_capabilities says so).
 */
NI_API int32_t ni_socket(int32_t family, int32_t type, int32_t protocol, ni_handle* result);

/*
 * Accepts a connection on `listener`; the new socket is non-inheritable. `address` may be NULL (then
 * address_length is ignored); otherwise *address_length is the size of the buffer on input and the size of
 * the peer's address on output; a buffer too small for it: POSIX truncates the address and reports the full
 * length, Windows fails with WSAEFAULT. A non-blocking listener with no pending connection fails with
 * EAGAIN; ECONNABORTED (the peer gave up before the accept) is returned, not retried. On Linux the new
 * socket is blocking even when the listener is non-blocking (it does not take O_NONBLOCK); other systems
 * may give it the listener's mode, and Windows always does: set the one you need. Not atomic where accept4
 * is missing (macOS): the
 * flag is set right after accept() (ni_capabilities says so).
 */
NI_API int32_t ni_accept(ni_handle listener, void* address, int32_t* address_length, ni_handle* result);

/*
 * Windows: writes into `info` (*length bytes available; on return, the bytes written) the WSAPROTOCOL_INFOW with which
 * the process `process_id` opens its own copy of `socket` (WSADuplicateSocketW), for socket activation: the receiver
 * gives it to WSASocketW with FROM_PROTOCOL_INFO (or to .NET's new Socket(SocketInformation)). The socket stays open
 * here, and nothing is made inheritable. WSAEFAULT when *length is too small (*length then says what is needed).
 * POSIX: ENOTSUP, since a descriptor is passed to a child as it is (ni_spawn's mappings).
 */
NI_API int32_t ni_socket_share(ni_handle socket, int64_t process_id, void* info, int32_t* length);

/*
 * Copies the file `source` to `destination`, as File.Copy does, with these guarantees:
 *
 *  - Non-inheritable: every descriptor or handle the copy opens (the source, the temporary file, an
 *    existing destination) is non-inheritable from its creation; a child started mid-copy holds none.
 *  - Never a partial destination: the data goes to a temporary file in the destination's directory (the
 *    final directory of a symlinked destination), which is put in place only once complete. Until then
 *    the destination is absent or holds its old content, whatever fails (ENOSPC, EFBIG, EIO, a
 *    cancellation, the process killed). Without NI_COPY_OVERWRITE the temp is put in place with a call that
 *    fails if the name exists (EEXIST); with it, the destination is replaced atomically: a reader sees the
 *    old file or the new one, never a mix.
 *  - Durability, with NI_COPY_DURABLE: the new file's data and metadata reach stable storage no later than
 *    the destination's name pointing at it (before it, or in the same journal commit), and the name before
 *    the call returns (Windows: FlushFileBuffers, then MOVEFILE_WRITE_THROUGH). Once it returns, a power cut
 *    or system crash leaves the new file; before, the destination is its old content (or absent) or the
 *    whole new file, whenever the power goes. A failed flush (EIO) fails the copy with the old destination
 *    in place, except a failure of the last flush, of the directory, which comes after the name changed:
 *    the call fails, the destination names the new file, and a power cut may still undo that. Without the
 *    flag nothing is flushed: the replacement is atomic for every process, and the one copying dying; after
 *    a power cut or system crash the destination may be its old content even though the copy returned, or
 *    (as after File.Copy) the new name with an empty, short or zero-filled file on file systems that write
 *    data after metadata (ext4 and XFS with delayed allocation).
 *  - As fast as the system allows (a reflink where the file system shares extents, else an in-kernel
 *    copy); a source with holes keeps them (as cp --sparse=auto): the destination allocates about the blocks
 *    the source does.
 *  - Metadata as File.Copy: the source's permission bits (rwx of user, group and other, whatever the umask;
 *    not setuid/setgid/sticky) and modification time; a file system that cannot store them (EPERM) does not
 *    fail the copy. Windows: CopyFileExW's attributes and times.
 *
 * Errors: without NI_COPY_OVERWRITE an existing destination (any entry: a file, a directory, a dangling
 * symlink, the source itself) fails with EEXIST before anything is read. With it, copying a file onto
 * itself (same device and inode, through any path, hard link or symlink) fails with EINVAL and changes
 * nothing. A source that is a directory fails with EISDIR; a destination that is a directory with EEXIST
 * without NI_COPY_OVERWRITE, EISDIR with it. Any error while copying (EIO, ENOSPC, EPERM...) fails the copy
 * as above. A source that is not a directory is read to its end (a FIFO, a device, a procfs file whose
 * size says 0). A symlinked source is followed; a symlinked destination too: its target is replaced
 * (created, if the link dangles) and the link stays a link.
 *
 * POSIX locks: like File.Copy, the copy holds a shared flock on the source and, when overwriting, an
 * exclusive one on the existing destination, taken without blocking: a conflicting holder fails the copy
 * with EWOULDBLOCK before anything is written. The existing destination is opened for writing, so one the
 * caller may not write fails with EACCES, as File.Copy does, even though a rename would not need it.
 *
 * Limits:
 *  - A temporary file that has a name can be left behind if the process is killed or the system goes down
 *    while it exists: a file named ".ni-copy-<16 hex digits>.tmp" in the destination's directory, the digits
 *    a hash of the destination's name (or random while another copy of the same destination has that name
 *    in use; always random on Windows). The next copy to the same destination removes it, unless a live
 *    copy holds its lock (POSIX only). On Linux file systems with O_TMPFILE (ext4, XFS, btrfs, tmpfs, ...)
 *    the temp has a name only for a moment when it replaces an existing destination, and in a durable copy
 *    from its flush on where no journal commits it with its name (ext4 without a journal, btrfs, tmpfs);
 *    elsewhere (NFS, FAT, macOS, Windows, no /proc) for the whole copy.
 *  - Replacing makes the destination a new file: other hard links to the old one keep the old content, and
 *    the new file belongs to the caller (owner, group, ACLs and extended attributes of the old one are not
 *    kept).
 *  - A destination that is not a regular file (a device, a FIFO) is written to in place, as File.Copy
 *    writes it, and so is an existing regular destination that cannot be replaced: its directory refuses
 *    new entries (EACCES, EPERM: not writable, sticky), or it is a mount point (EBUSY, EXDEV: a bind-mounted
 *    file); on Windows, one that another process holds open without delete sharing. Only then can a failure
 *    leave it partly written.
 *  - Where the system has neither a no-replace rename nor hard links, the no-replace step is an existence
 *    check and a rename, which a file created in between can lose to.
 *  - Windows: a read-only destination fails with ERROR_ACCESS_DENIED (as CopyFileExW's does); a symlinked
 *    destination is replaced at its final path when it resolves, and copied onto in place when it dangles.
 */
NI_API int32_t ni_copyfile(const char* source, const char* destination, int32_t flags);

/*
 * The progress callback of ni_copyfile_ex: `copied` is how many bytes of the source are done (a hole
 * skipped counts as done). It is called on the copying thread: once with 0 before anything is copied,
 * after every chunk (at most 16 MiB on Linux; CopyFileExW's chunks on Windows) with a larger value, and
 * last with the source's full size, before the destination is put in place. Returning nonzero cancels the
 * copy at once: ni_copyfile_ex fails with ECANCELED (ERROR_CANCELLED on Windows), the temporary file is
 * removed and the destination is untouched.
 */
typedef int32_t (*ni_copy_progress)(int64_t copied, void* state);

/*
 * ni_copyfile with progress and cancellation: `progress` (may be NULL) is called as described above with
 * `state` passed through. The guarantees, errors and limits are those of ni_copyfile. A copy blocked
 * inside the kernel (reading a FIFO, a slow device) sees the cancellation when that call returns.
 */
NI_API int32_t ni_copyfile_ex(const char* source, const char* destination, int32_t flags, ni_copy_progress progress,
                              void* state);

/* Creates an anonymous pipe whose two ends are non-inheritable. On failure neither end is left open. */
NI_API int32_t ni_pipe(ni_handle* read_end, ni_handle* write_end);

/* Duplicates `handle` into a new, non-inheritable descriptor (the lowest free number on POSIX). EBADF
   (ERROR_INVALID_HANDLE) for a handle that is not open. */
NI_API int32_t ni_dup(ni_handle handle, ni_handle* result);

/* Closes a descriptor or handle (socket-aware on Windows). EINTR counts as closed (Linux releases the
   descriptor anyway; retrying could close another one). EBADF for one that is not open. */
NI_API int32_t ni_close(ni_handle handle);

/* ni_wait_readable results: which of the two handles can be read without blocking. */
#define NI_READABLE_FIRST 0x0001  /* `first` */
#define NI_READABLE_SECOND 0x0002  /* `second` */

/*
 * Waits until `first` or `second` (pipe read ends, sockets, terminals; NI_INVALID_HANDLE: none) can be read
 * without blocking (data waits, every writer has closed its end, or the descriptor has an error) and sets
 * *ready to the NI_READABLE_* bits of those that can; 0 when `timeout_ms` (-1: no limit, 0: only look) runs
 * out first. It reads nothing. This is how one thread reads two pipes at once (a child's standard output and
 * standard error) so that neither fills while the other is read. EINVAL for a NULL `ready`, a timeout below
 * -1 or no handle at all; EBADF for a handle that is not open. Windows: ERROR_NOT_SUPPORTED (an anonymous
 * pipe cannot be waited on there; overlapped reads do that job).
 */
NI_API int32_t ni_wait_readable(ni_handle first, ni_handle second, int32_t timeout_ms, int32_t* ready);

/* *inheritable = 1 if a child started now (fork + exec, CreateProcess with bInheritHandles=TRUE) would
   inherit `handle`, else 0. EBADF (ERROR_INVALID_HANDLE) for a handle that is not open. */
NI_API int32_t ni_get_inheritable(ni_handle handle, int32_t* inheritable);

/* Makes `handle` inheritable (1) or not (0). Any other value fails with EINVAL (ERROR_INVALID_PARAMETER)
   and changes nothing; EBADF (ERROR_INVALID_HANDLE) for a handle that is not open. */
NI_API int32_t ni_set_inheritable(ni_handle handle, int32_t inheritable);

/* Reserves `length` bytes of disk for the file without changing its size (Windows: the allocation size,
   only ever grown). 0 does nothing; a negative length is EINVAL; ENOTSUP / EOPNOTSUPP where the system or
   file system cannot. */
NI_API int32_t ni_preallocate(ni_handle handle, int64_t length);

/* NI_CAP_* bits: which creating calls are atomic (non-inheritable in the creating call) on this system. */
NI_API uint32_t ni_capabilities(void);

/* The library version, "MAJOR.MINOR.PATCH". */
NI_API const char* ni_version(void);

/* The portable class (NI_ERR_*) of a platform error code returned by this library; NI_ERR_OTHER for any
   code it does not know. */
NI_API int32_t ni_error_kind(int32_t error);

/*
 * The platform's own error code for the class `kind` (NI_ERR_*): the one this library returns for it (the
 * first named for the class above: ENOENT, EACCES, EWOULDBLOCK, ...; ERROR_FILE_NOT_FOUND,
 * ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, ...), for a caller that reports a condition it found itself
 * (a program not found on PATH) as the platform would. ni_error_kind(ni_error_code(kind)) == kind for every
 * class the platform has; 0 for the others (NI_ERR_NOTDIR_PATH on POSIX), NI_ERR_OTHER and an unknown kind.
 */
NI_API int32_t ni_error_code(int32_t kind);

/* Writes the platform's message for `error` (strerror / FormatMessage) as UTF-8 into `buffer`, always
   NUL-terminated, truncated to `size` bytes. EINVAL if buffer is NULL or size < 1. */
NI_API int32_t ni_error_message(int32_t error, char* buffer, int32_t size);

/*
 * Removes the variable `name` (UTF-8) from this process's environment, the one getenv() reads and a child started
 * with envp NULL gets (POSIX: unsetenv(3); Windows: SetEnvironmentVariableW). A runtime that keeps a copy of its own
 * (.NET on Unix) must be told apart. A variable that is not set is no error; EINVAL (ERROR_INVALID_PARAMETER) for a
 * NULL or empty name or one containing '='. For socket activation: a process that has taken its LISTEN_FDS
 * descriptors removes LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES so that no child misreads them. Like unsetenv, not
 * safe while another thread reads the environment.
 */
NI_API int32_t ni_unsetenv(const char* name);

/* ---- Audit and seal: what a child started now would inherit, and stopping it. ---- */

/* Kinds of descriptor reported by ni_list_handles and ni_describe. */
#define NI_KIND_OTHER 0  /* anything not below */
#define NI_KIND_FILE 1  /* a regular file */
#define NI_KIND_DIRECTORY 2  /* a directory */
#define NI_KIND_SOCKET 3  /* a socket */
#define NI_KIND_PIPE 4  /* a pipe or FIFO */
#define NI_KIND_CHARACTER_DEVICE 5  /* a character device (a terminal, /dev/null, a console) */

typedef struct ni_handle_info
{
    ni_handle handle;    /* the descriptor number, or the HANDLE value */
    int32_t kind;        /* NI_KIND_* */
    int32_t inheritable; /* 1 if a child started now would inherit it */
} ni_handle_info;

/*
 * Lists the open descriptors (handles) of this process, lowest first where the system can list them
 * (Windows: the handle values below 0x40000). Writes at most `capacity` entries and sets *count to the
 * number found: call again with a larger buffer when it is bigger. A descriptor opened or closed by
 * another thread meanwhile may or may not be listed.
 */
NI_API int32_t ni_list_handles(ni_handle_info* buffer, int32_t capacity, int32_t* count);

/*
 * Describes what `handle` refers to as UTF-8 text in `buffer` (NUL-terminated, truncated to `size`): a path
 * for files, directories and devices; "pipe:[inode]" for pipes; for sockets the family, type, local address
 * and, when connected, " -> " and the peer ("inet stream 127.0.0.1:80 -> ..."). *kind is its NI_KIND_*.
 * EBADF (ERROR_INVALID_HANDLE) for a handle that is not open.
 */
NI_API int32_t ni_describe(ni_handle handle, char* buffer, int32_t size, int32_t* kind);

/*
 * Makes every descriptor of the process non-inheritable except the standard streams (0, 1, 2; the
 * GetStdHandle handles on Windows) and the `keep_count` ones in `keep`, which are left as they are. Nothing
 * is closed. *changed is how many were inheritable before. EINVAL for a negative or out-of-range value in
 * `keep`. Descriptors another thread creates meanwhile are not covered, which is why everything this
 * library creates is non-inheritable in the first place.
 */
NI_API int32_t ni_seal(const ni_handle* keep, int32_t keep_count, int32_t* changed);

/* ---- Spawning: a child that gets exactly the handles listed, and nothing else. ---- */

/* ni_fd_mapping.target: the child gets the source under its own number (value) */
#define NI_SPAWN_SAME_NUMBER (-1)
#define NI_SPAWN_TERMINAL (-2)  /* the source (ni_pty.console) is the child's standard streams and controlling terminal */

/*
 * One handle the child receives: `source` (a descriptor / handle of this process; it need not be
 * inheritable, and stays as it is here) appears in the child as `target`. POSIX: target is any descriptor
 * number below the child's descriptor limit (0, 1, 2 for the standard streams; 3 and up for others, as
 * systemd socket activation passes them), or NI_SPAWN_SAME_NUMBER. Windows: target 0, 1, 2 makes the
 * handle the child's standard input, output, error; any other handle is passed by value
 * (NI_SPAWN_SAME_NUMBER, or its own value; other numbers fail with ERROR_NOT_SUPPORTED: Windows cannot
 * choose the value a handle gets in another process). The child's value then differs from ours; ni_spawn
 * rewrites it on the command line (see ni_spawn).
 * NI_SPAWN_TERMINAL: the source is a pseudo-terminal (ni_pty_open's `console`). POSIX: it becomes the child's
 * 0, 1 and 2 and the controlling terminal of a new session the child leads (its process group is the
 * terminal's foreground group, so Ctrl-C reaches it); ENOTTY for a source that is no terminal. Windows: the
 * pseudo console is attached to the child (PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE) with NULL standard handles, which
 * Windows replaces with the console's; ERROR_INVALID_HANDLE for a source that is no open console of ni_pty_open;
 * no handle can be passed by value with it (ERROR_NOT_SUPPORTED: such a child is created from the helper process,
 * where the console, a handle of ours, is not). At most one such mapping, and none then for targets 0, 1, 2
 * (EINVAL); it excludes NI_SPAWN_DETACHED (EINVAL).
 */
typedef struct ni_fd_mapping
{
    ni_handle source;
    int32_t target;
} ni_fd_mapping;

/* A started child, as ni_spawn writes it; release it with ni_process_close. Every handle is NI_INVALID_HANDLE
   when it does not apply. */
typedef struct ni_process
{
    int64_t pid;
    ni_handle handle; /* a handle on the process itself: a Linux pidfd (kernel 5.3+), a process HANDLE on Windows */
    ni_handle resume; /* NI_SPAWN_SUSPENDED until ni_process_resume: POSIX a close-on-exec socket to the waiting
                         child; Windows its primary thread */
    ni_handle job;    /* Windows: the child's own job (NI_SPAWN_PROCESS_TREE, NI_SPAWN_NEW_PROCESS_GROUP) */
} ni_process;

/* ni_spawn flags. */
#define NI_SPAWN_DEFAULT_SIGPIPE 0x0001  /* POSIX: SIGPIPE at SIG_DFL in the child even when ignored here */
#define NI_SPAWN_RAW_ARGUMENTS 0x0002  /* Windows: argv[1] appended verbatim (.Arguments). POSIX: ignored */
#define NI_SPAWN_NO_WINDOW 0x0004  /* Windows: CREATE_NO_WINDOW. POSIX: ignored */
#define NI_SPAWN_INHERIT_STDIO 0x0008  /* unmapped targets 0, 1, 2 get this process's open standard streams */
#define NI_SPAWN_SUSPENDED 0x0010  /* the child waits, ready, until ni_process_resume lets it run the program */
#define NI_SPAWN_NEW_PROCESS_GROUP 0x0020  /* the child leads a new process group (POSIX setpgid; Windows CREATE_NEW_PROCESS_GROUP) */
#define NI_SPAWN_DETACHED 0x0040  /* the child leads a new session without a controlling terminal; it outlives us */
#define NI_SPAWN_KILL_ON_PARENT_EXIT 0x0080  /* the child is killed when this process ends, however it ends */
#define NI_SPAWN_PROCESS_TREE 0x0100  /* ni_kill_tree reaches the child's descendants (POSIX: a new process group; Windows: a job) */
#define NI_SPAWN_LISTEN_PID 0x0200  /* POSIX: LISTEN_PID=<the child's own pid> in its environment. Windows: not supported */

/*
 * What the process flags do, in the child, before it runs the program:
 *  - NI_SPAWN_SUSPENDED: the child does everything ni_spawn asks (descriptors, directory, session, signals)
 *    and then waits, without having run the program; ni_spawn returns once it waits, so every failure up to
 *    that point is still ni_spawn's error. result->resume is the means to let it go: ni_process_resume.
 *    Meanwhile it holds only its mapped descriptors (POSIX), and ni_kill, ni_kill_tree and ni_wait work on
 *    it as on any child. A child never resumed: ni_process_close (or this process ending) releases
 *    result->resume, and the child then exits with 127 without running the program (POSIX). Windows: the child
 *    is created suspended (CREATE_SUSPENDED) and result->resume is its primary thread; ni_process_close ends a
 *    child never resumed with exit code 127 (TerminateProcess), as POSIX's exits (this process ending without
 *    closing it leaves it suspended until killed). The program is found and mapped before ni_spawn returns, so
 *    its errors are ni_spawn's; a failure after the resume (a missing DLL) is the child's exit code.
 *  - NI_SPAWN_NEW_PROCESS_GROUP: the child leads a process group of its own (its pid is the group id), so
 *    ni_signal_group reaches it and what it starts, and a Ctrl-C of our terminal does not. Windows:
 *    CREATE_NEW_PROCESS_GROUP (the child ignores Ctrl-C, as a new group's leader does; Ctrl-Break reaches it),
 *    and a job of its own (result->job) that holds it and what it starts, for ni_signal_group and ni_kill_tree.
 *  - NI_SPAWN_DETACHED: the child leads a new session (and group) with no controlling terminal; nothing ties
 *    it to us but what the caller maps (the standard streams included: map the null device to detach fully).
 *    It excludes NI_SPAWN_KILL_ON_PARENT_EXIT and a NI_SPAWN_TERMINAL mapping (EINVAL). Windows:
 *    DETACHED_PROCESS (no console) and CREATE_NEW_PROCESS_GROUP; the child breaks away from the job this
 *    process is in where that job allows it (CREATE_BREAKAWAY_FROM_JOB); where it does not, the child still
 *    starts, in that job, and ends with it if that job kills on close. No job of its own (ni_signal_group and
 *    ni_kill_tree then end the child alone) unless NI_SPAWN_PROCESS_TREE or NI_SPAWN_NEW_PROCESS_GROUP.
 *  - NI_SPAWN_KILL_ON_PARENT_EXIT: the child is killed (SIGKILL) when this process ends, however it ends
 *    (exit, crash, SIGKILL), not when the thread that called ni_spawn ends. If this process is already gone
 *    when the child has armed it, the child exits without running the program. Linux: the parent-death
 *    signal, armed by a thread the library keeps for the life of the process (the kernel sends that signal
 *    when the thread that created the child exits); it does not survive the child running a set-user-ID or
 *    set-group-ID program, and descendants of the child are not covered. Windows: before it runs, the child is
 *    put in a job with KILL_ON_JOB_CLOSE whose one handle this process keeps open (made on first use; the
 *    system closes it when this process ends, and the job then ends what is in it): the child and its
 *    descendants, but those that broke away (the job allows CREATE_BREAKAWAY_FROM_JOB, as a detached start
 *    asks). Other POSIX systems: ENOTSUP.
 *  - NI_SPAWN_PROCESS_TREE: ni_kill_tree can reach the whole tree. POSIX: the child leads a new process group
 *    (as NI_SPAWN_NEW_PROCESS_GROUP), which keeps the descendants that stay in it reachable even after their
 *    parent died. Windows: the child leads a new process group and is put, before it runs, in a job of its own
 *    (result->job), which every process it starts is in from its creation and which none can leave
 *    (CREATE_BREAKAWAY_FROM_JOB fails there with ERROR_ACCESS_DENIED); closing the job ends nothing. With
 *    NI_SPAWN_KILL_ON_PARENT_EXIT as well, this job nests inside that one (Windows 8+).
 *  - NI_SPAWN_LISTEN_PID: POSIX: the child's environment (envp, or this process's) gets LISTEN_PID=<the child's
 *    own pid>, replacing any LISTEN_PID there, for sd_listen_fds(3) socket activation; the caller's strings
 *    are not changed. Windows: ERROR_NOT_SUPPORTED (sockets are handed over by WSADuplicateSocketW there).
 */

/*
 * Starts `path` with the arguments `argv` (NULL-terminated; argv[0] is what the child sees as its name) and
 * the environment `envp` ("NAME=value" strings, NULL-terminated; NULL: this process's), in the directory
 * `cwd` (NULL: this process's). The child holds exactly the `mapping_count` handles of `mappings` under
 * their targets, and nothing else: not the standard streams unless mapped (or NI_SPAWN_INHERIT_STDIO), not
 * descriptors that other code left inheritable; POSIX: already when ni_spawn returns (the child closes the rest
 * itself before execve, so a socket or pipe end closed next is closed at once). Errors: EINVAL for a NULL path,
 * argv or result, unknown flags, flags that exclude each other (see the process flags above), a negative target other than
 * NI_SPAWN_SAME_NUMBER and NI_SPAWN_TERMINAL, or two mappings with one target; ENOTSUP (ERROR_NOT_SUPPORTED) for
 * a flag or a combination this system cannot honour; EBADF (ERROR_INVALID_HANDLE) for a source that is not open, or (POSIX) a target at
 * or above the descriptor limit; EMFILE (POSIX) when the child has no free descriptor number left for its
 * temporary copies (or, where the child cannot start on this process's descriptor table, below, none is left
 * here for the report pipe); and any failure of the child before it runs the program (ENOENT, EACCES, ENOEXEC from
 * execve; chdir's errors; with NI_SPAWN_SUSPENDED those up to the wait, execve's come from
 * ni_process_resume): a failed call leaves no process behind, so a missing program is an error here, never a
 * child that exits with 127. On success result->pid is the child's id, result->handle a pidfd / process
 * HANDLE (or NI_INVALID_HANDLE), result->resume and result->job as described at ni_process; release them
 * with ni_process_close.
 * Linux: the child starts on this process's memory and descriptor table and takes a copy of only the numbers
 * up to its highest source (close_range with CLOSE_RANGE_UNSHARE), so the descriptors this process holds cost
 * it nothing; where such a child cannot be started (under qemu-user or valgrind; asked once per process) and on
 * other systems, it gets a copy of every descriptor and closes those too. Until it has its own table it changes
 * nothing in this process's.
 * POSIX: `path` is executed as given (no PATH search: resolve it first). The child's caught signals start
 * at their defaults (on a NI_SPAWN_TERMINAL, the ignored ones too) and its signal mask is the calling
 * thread's. The child is collected only by
 * ni_wait, which waits for this pid alone (never waitpid(-1)), so the children of other code in the
 * process (System.Diagnostics.Process) and ours never take each other's exit status.
 * Windows: `path` may be NULL, then CreateProcessW searches for argv[0] as it does for a command line. The
 * command line is argv quoted so that CommandLineToArgvW gives back the exact argv (or, with
 * NI_SPAWN_RAW_ARGUMENTS, argv[0] quoted plus argv[1] verbatim); the environment block is envp sorted as
 * CreateProcessW requires (the caller's envp is not changed; entries whose names are equal ignoring case
 * keep their order; an empty string in envp is ERROR_INVALID_PARAMETER, a block cannot hold one). No handle of this process is ever made
 * inheritable, so another thread's Process.Start cannot pick one up; the child's handles come from a
 * helper process (docs/architecture.md, "Spawning on Windows"), and so the child sees two things
 * differently: its parent process id is the helper's, and a handle passed by value has another value than
 * ours. An argument (argv[1...]; with NI_SPAWN_RAW_ARGUMENTS, a run of characters between blanks and
 * quotes) that is exactly the value of a handle passed by value, in decimal ("1234", as
 * AnonymousPipeServerStream.GetClientHandleAsString gives it) or 0x hex ("0x4d2"), is rewritten to the
 * child's value in the same form; other text, and numbers inside longer arguments, are passed as they are.
 */
NI_API int32_t ni_spawn(const char* path, const char* const* argv, const char* const* envp, const char* cwd,
                        const ni_fd_mapping* mappings, int32_t mapping_count, int32_t flags, ni_process* result);

/*
 * *executable = 1 when `path` names a file (not a directory) that this process may execute by its permission
 * bits, else 0 (a missing or unreadable path included): the execute bit of the class this process is in for
 * that file, by its effective ids (owner; group: the effective group or a supplementary one; other), and any
 * execute bit for root. It is the test a PATH search applies to each candidate (ni_spawn searches for
 * nothing); access control lists are not looked at. Windows: 1 for any file that exists. EINVAL for a NULL
 * argument.
 */
NI_API int32_t ni_can_execute(const char* path, int32_t* executable);

/*
 * Waits up to `timeout_ms` milliseconds (-1: no limit; 0: only looks, never blocks) for the child to exit,
 * and collects it: *exited is 1 and *exit_code its exit status when it has, else *exited is 0. A child
 * killed by a signal reports 128 + the signal number, as the shell and Process.ExitCode do. EINVAL for a
 * NULL pointer, a pid <= 0 or a timeout below -1.
 * POSIX: ECHILD (NI_ERR_CHILD) for a process that is not a child of this one. Collecting reaps the
 * child; a later call gives the same code again where the kernel keeps it in the pidfd (Linux 6.15+), else
 * fails with ECHILD. When other code collected the child first (a .NET runtime running as pid 1 reaps every
 * child; with SIGCHLD ignored the kernel does), the code is read from the pidfd where the kernel keeps it,
 * else the call fails with ECHILD, never with a wrong code. The kernel records it a moment after that
 * collection: a call with timeout 0 does not wait for the record and says *exited = 0 until it is there
 * (while ni_wait_for_exit already says the child has exited); a call with a timeout waits for it as long
 * as the timeout allows, up to 250 ms, then fails with ECHILD (a kernel that keeps no record).
 * Windows: the process handle keeps the code; calls may repeat and give it each time, and never fail with
 * ECHILD's counterpart (ERROR_WAIT_NO_CHILDREN).
 */
NI_API int32_t ni_wait(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code);

/*
 * ni_wait, also saying how the child ended: *signal is 0 when it exited by itself (its code in *exit_code),
 * else the signal that ended it, as its portable number (NI_SIG*, below) when it has one and as the
 * system's own number otherwise; *exit_code is then 128 + the system's number, as ni_wait gives it. The
 * arguments, errors and collection are ni_wait's; EINVAL for a NULL signal. Windows: *signal is always 0.
 */
NI_API int32_t ni_wait_status(const ni_process* process, int32_t timeout_ms, int32_t* exited, int32_t* exit_code,
                              int32_t* signal);

/* Portable numbers of the signals whose number differs between systems, and of SIGKILL: negative, so that
   they never collide with a system's own number (which is positive). ni_signal_number translates them. */
#define NI_SIGHUP (-1)  /* hangup */
#define NI_SIGINT (-2)  /* interrupt (Ctrl-C) */
#define NI_SIGQUIT (-3)  /* quit */
#define NI_SIGTERM (-4)  /* terminate: the polite request to stop */
#define NI_SIGCHLD (-5)  /* a child stopped or ended */
#define NI_SIGCONT (-6)  /* continue if stopped */
#define NI_SIGWINCH (-7)  /* the terminal's size changed */
#define NI_SIGTTIN (-8)  /* a background read from the terminal */
#define NI_SIGTTOU (-9)  /* a background write to the terminal */
#define NI_SIGTSTP (-10)  /* stop from the terminal (Ctrl-Z) */
#define NI_SIGKILL (-11)  /* kill: cannot be caught or ignored */

/*
 * This system's number for `signal`, for ni_kill: for a portable NI_SIG* value the system's signal of that
 * name; for a positive value the value itself when it is a signal of this system; 0 when the system has no
 * such signal (0, an unknown negative value, a number past its last signal). Windows: NI_SIGKILL gives 9,
 * which ni_kill takes (as any nonzero number) to terminate the child; every other value gives 0.
 */
NI_API int32_t ni_signal_number(int32_t signal);

/*
 * Waits up to `timeout_ms` milliseconds (-1: no limit; 0: only looks) for the child to exit, without
 * collecting it: *exited is 1 once it has exited, else 0, and a later ni_wait still gets its exit code. For
 * a thread that blocks on the exit while another may collect or signal the child: the wait ends when the
 * child exits (the kernel wakes the waiter). With a pidfd (or on Windows) it keeps answering 1 after the
 * child is collected; without one (before Linux 5.3) it fails with ECHILD once the child has been
 * collected.
 */
NI_API int32_t ni_wait_for_exit(const ni_process* process, int32_t timeout_ms, int32_t* exited);

/*
 * Sends `signal` (a POSIX signal number; 0 only checks that the child is still there) to the child. A portable
 * NI_SIG* value is translated first with ni_signal_number: any negative `signal` is EINVAL
 * (ERROR_INVALID_PARAMETER), as are a NULL process and a pid <= 0. With a pidfd a recycled pid is never hit. Once the child has been collected: ESRCH (NI_ERR_SRCH); before that
 * (an exited child not yet collected) the signal is accepted and does nothing. Windows: any signal but 0
 * terminates the child (TerminateProcess, exit code -1); once it has exited, ERROR_NOTHING_TO_TERMINATE
 * (NI_ERR_SRCH) and its exit code is unchanged; a handle that is no process gives ERROR_INVALID_HANDLE.
 */
NI_API int32_t ni_kill(const ni_process* process, int32_t signal);

/*
 * Sends `signal` to the process group the child leads (NI_SPAWN_NEW_PROCESS_GROUP, NI_SPAWN_PROCESS_TREE,
 * NI_SPAWN_DETACHED or a NI_SPAWN_TERMINAL mapping), so that a shell and the programs it runs all get it, as a
 * Ctrl-C of a terminal sends SIGINT to its foreground group; to the child alone, as ni_kill, when it leads no
 * group. For a graceful stop: SIGTERM here, then ni_kill_tree with SIGKILL when the grace period ends. Once the
 * child has been collected (ni_wait), the group is still reached while any member lives (the kernel keeps its
 * id for it); ESRCH when nothing is left. EINVAL for a NULL process, a pid <= 0 or a negative signal (0 only
 * checks). Windows: a child with a job of its own (NI_SPAWN_NEW_PROCESS_GROUP, NI_SPAWN_PROCESS_TREE) leads a
 * group: SIGKILL terminates its job (exit code -1: the child and every process in it), 0 checks that one of them
 * runs, any other signal is CTRL_BREAK_EVENT to the group (CTRL_C_EVENT cannot be aimed at a group), which
 * reaches only the group's processes attached to this process's console: not a detached child, and none when
 * this process has no console (then the call fails with GenerateConsoleCtrlEvent's error; under wine 8 it always
 * does); ERROR_NOTHING_TO_TERMINATE once nothing of the job runs. A child without a job of its own is terminated alone,
 * as ni_kill does, and is never sent a console event (to a process that leads no group the console would send it
 * to every process on it, this one included). EINVAL too for a process without a handle (closed).
 */
NI_API int32_t ni_signal_group(const ni_process* process, int32_t signal);

/*
 * Sends `signal` (SIGKILL to end them) to the child and every descendant of it, including those started while
 * this runs. POSIX: the tree is the child, every process of the group it leads (NI_SPAWN_PROCESS_TREE or the
 * other flags named at ni_signal_group), and, from /proc, every descendant of those by parentage, processes
 * that left the group for one of their own (setpgid, setsid) included, with the groups they lead. Each is
 * stopped (SIGSTOP) as it is found, and the list is read again until nothing new turns up once every member
 * was seen stopped; then all are signalled, then continued (SIGCONT) unless the signal was SIGKILL or
 * SIGSTOP: none can start a process that escapes. Out of reach: a descendant that left the group and whose
 * parent had already died (it was handed to init or a subreaper: nothing ties it to the child any more), such
 * as a daemon that forked twice; when the child leads no group, also descendants whose parent died, wherever
 * they are (as with Process.Kill(true)). Without /proc (other systems): the child and its group only. Once
 * the child has been collected, its group is still reached while any member lives (a member killed but not
 * yet collected by its new parent counts). ESRCH when nothing was reached; EINVAL for a NULL process, a pid
 * <= 0 or a signal <= 0. Windows: TerminateJobObject on result->job (any signal terminates, exit code -1): the
 * child and every process created in its job at any depth, those created while this runs included (a job holds
 * a process from its creation, and none can leave it); out of reach: a process that something else starts on the
 * tree's behalf (a service, the task scheduler, a COM server, WMI's Win32_Process.Create), which is not in the
 * job. ERROR_NOTHING_TO_TERMINATE once nothing of the job runs. Without a job of its own: the child (as ni_kill), then
 * its descendants by parent process id, from process snapshots taken until one finds nothing new, as
 * Process.Kill(true) finds them, each terminated as found (after the child's own exit too, while this process holds
 * its handle); out of reach then: a descendant whose parent had ended before the walk found it.
 */
NI_API int32_t ni_kill_tree(const ni_process* process, int32_t signal);

/*
 * Lets a child started with NI_SPAWN_SUSPENDED run its program, and waits until it has (POSIX: until execve
 * succeeded or failed). A failed execve (ENOENT, EACCES, ENOEXEC...) is returned here; the child has then
 * exited and been collected: no process is left. A child that died while it waited (killed): ESRCH, and it is
 * left for ni_wait. Either way, and on success, result->resume is released and set to NI_INVALID_HANDLE.
 * EINVAL for a NULL process or one with no resume handle (not suspended, or already resumed). Windows:
 * ResumeThread on the primary thread; a child killed while it waited: ERROR_NOTHING_TO_TERMINATE (ESRCH's
 * counterpart).
 */
NI_API int32_t ni_process_resume(ni_process* process);

/*
 * Releases every handle of `process` (handle, resume, job) that is not NI_INVALID_HANDLE and sets each to
 * NI_INVALID_HANDLE; a second call does nothing. It neither waits nor kills: on POSIX a child never waited for
 * stays a zombie until this process exits. A suspended child that was never resumed exits (127) without
 * running its program once its resume handle is released (POSIX); on Windows ni_process_close ends it so
 * (TerminateProcess, 127). Closing the child's job (Windows) ends nothing: that job has no kill-on-close limit.
 */
NI_API int32_t ni_process_close(ni_process* process);

/*
 * Exit watchers: one thread waits for the exits of any number of children, with no signal handler and no thread
 * per child. Linux with pidfds (5.3+): an epoll set of the children's pidfds, close-on-exec. Elsewhere, and for a
 * child without a pidfd (process->handle is NI_INVALID_HANDLE), ENOTSUP (Windows: ERROR_NOT_SUPPORTED; a thread
 * pool waits on process handles there). Release a watcher with ni_close.
 *
 * ni_exit_watcher_add watches `process` once: the first ni_exit_watcher_wait after it has exited (at once if it has
 * already) reports `key`, a single time. The exit is only noticed: ni_wait collects the child. Releasing the
 * process (ni_process_close) takes it off the watcher.
 *
 * ni_exit_watcher_wait waits until a watched child has exited or `timeout_ms` (-1: no limit, 0: only look) runs
 * out, writes the keys of those that have (at most `capacity`; the others come with the next call) and their
 * number to *count: 0 when the time ran out. EINVAL for a NULL out-parameter, a capacity below 1 or a timeout
 * below -1; EBADF for a watcher that is not open.
 */
NI_API int32_t ni_exit_watcher_create(ni_handle* watcher);
NI_API int32_t ni_exit_watcher_add(ni_handle watcher, const ni_process* process, int64_t key);
NI_API int32_t ni_exit_watcher_wait(ni_handle watcher, int32_t timeout_ms, int64_t* keys, int32_t capacity,
                                    int32_t* count);

/* ---- Pseudo-terminals: a child on a terminal of its own. ---- */

/* A pseudo-terminal. POSIX: input and output are both the master (one descriptor), console the slave; all
   close-on-exec. Windows: input is our write end, output our read end (both non-inheritable), console the pseudo
   console (an HPCON, not a handle: ni_close must not be given it). */
typedef struct ni_pty
{
    ni_handle input;   /* write the child's keystrokes here (0x03 is Ctrl-C) */
    ni_handle output;  /* read what the child writes to its terminal */
    ni_handle console; /* map it to the child with target NI_SPAWN_TERMINAL */
} ni_pty;

/*
 * Opens a new pseudo-terminal of `columns` x `rows` characters, every handle non-inheritable; start children
 * on it with a NI_SPAWN_TERMINAL mapping of `console`. POSIX: the master from /dev/ptmx (posix_openpt),
 * unlocked, its slave opened without becoming our controlling terminal, both close-on-exec (atomically on
 * Linux; elsewhere set right after); the terminal starts in the system's default mode (echo, canonical
 * input, Ctrl-C as SIGINT). End of output: the master reads what the children wrote, then, once every
 * descriptor of the slave is closed (the children's and ours), fails with EIO on Linux (0 bytes, end of file,
 * elsewhere): so close our `console` as soon as the children are started (ni_close it and set it to
 * NI_INVALID_HANDLE; ni_spawn does not close it) or reading never ends. EINVAL for a NULL result or a size
 * outside 1..65535; the system's error otherwise (ENOENT or EACCES without /dev/ptmx, ENOSPC when the system
 * has no terminal left); nothing is left open on failure. Windows: CreatePseudoConsole (Windows 10 1809+, looked
 * up at run time: ERROR_NOT_SUPPORTED where kernel32 lacks it) on two pipes made non-inheritable, of which we
 * keep the ends named above; sizes 1..32767 (COORD); the console runs in a console host process of its own.
 * End of output: reading `output` ends (ERROR_BROKEN_PIPE) once the console is closed, which also ends the
 * processes still attached to it; to end it while still reading, close the console alone (ni_pty_close on a
 * copy in which only `console` is set, then set ours to NI_INVALID_HANDLE), and keep reading meanwhile (before
 * Windows 11 24H2, ClosePseudoConsole waits while output is left unread). Under wine 8 the output also ends once
 * the last process on the console has exited.
 */
NI_API int32_t ni_pty_open(int32_t columns, int32_t rows, ni_pty* result);

/*
 * Sets the terminal's size to `columns` x `rows`. POSIX: TIOCSWINSZ, which sends SIGWINCH to the terminal's
 * foreground process group when the size changes. EINVAL for a NULL pty or a size outside 1..65535; EBADF
 * once the pty is closed. Windows: ResizePseudoConsole; sizes 1..32767; ERROR_INVALID_HANDLE once the console is
 * closed; wine 8 has no resize (ERROR_NOT_SUPPORTED, its E_NOTIMPL).
 */
NI_API int32_t ni_pty_resize(const ni_pty* pty, int32_t columns, int32_t rows);

/*
 * Closes every handle of `pty` that is still open (POSIX: the master once, and the console unless the caller
 * closed it already) and sets each to NI_INVALID_HANDLE; a second call does nothing. Children still on the
 * terminal get SIGHUP once the master is closed (POSIX). EINVAL for a NULL pty. Windows: our pipe ends first,
 * then ClosePseudoConsole, which ends the processes still attached (and, our read end closed, cannot wait on
 * unread output); a console that is not open: ERROR_INVALID_HANDLE.
 */
NI_API int32_t ni_pty_close(ni_pty* pty);

#ifdef __cplusplus
}
#endif

#endif /* NOINHERIT_H */
