using System;

namespace NoInherit.Native;

/// <summary>
/// The NI_* constants of noinherit.h as typed enums, each member named as its #define without the NI_ prefix (as the
/// runtime's Interop.Sys.OpenFlags names O_RDONLY), so that a search for one finds the other. HeaderConstantsTests parses
/// the header and fails on any value that differs, any constant without a member and any member without a constant.
/// NI_KIND_* is the public <see cref="HandleKind"/> and NI_CAP_* the public <see cref="NoInheritCapabilities"/>.
/// </summary>
internal static partial class Interop
{
    /// <summary>NI_INVALID_HANDLE.</summary>
    internal const nint INVALID_HANDLE = -1;

    /// <summary>NI_SPAWN_SAME_NUMBER: an <see cref="FdMapping.Target"/> that keeps the source's own number (value).</summary>
    internal const int SPAWN_SAME_NUMBER = -1;

    /// <summary>NI_SPAWN_TERMINAL: an <see cref="FdMapping.Target"/> that makes the source (a pseudo-terminal) the child's
    /// standard streams and controlling terminal.</summary>
    internal const int SPAWN_TERMINAL = -2;

    /// <summary>ni_open flags: exactly one access mode, the rest combined.</summary>
    [Flags]
    internal enum OpenFlags
    {
        O_RDONLY = 0x0000,
        O_WRONLY = 0x0001,
        O_RDWR = 0x0002,
        O_ACCMODE = 0x0003,
        O_CREAT = 0x0010,
        O_EXCL = 0x0020,
        O_TRUNC = 0x0040,
        O_APPEND = 0x0080,
        O_SYNC = 0x0100,
        O_NOFOLLOW = 0x0200,
        O_NOTDIR = 0x0400,
        O_SHLOCK = 0x1000,
        O_EXLOCK = 0x2000,
        O_SHARE_READ = 0x4000,
        O_SHARE_WRITE = 0x8000,
        O_SHARE_DELETE = 0x10000,
        O_DELETE_ON_CLOSE = 0x20000,
        O_ASYNC = 0x40000,
        O_RANDOM = 0x80000,
        O_SEQUENTIAL = 0x100000,
    }

    /// <summary>ni_socket families.</summary>
    internal enum AddressFamily
    {
        AF_UNSPEC = 0,
        AF_UNIX = 1,
        AF_INET = 2,
        AF_INET6 = 3,
    }

    /// <summary>ni_socket types.</summary>
    internal enum SocketType
    {
        SOCK_STREAM = 1,
        SOCK_DGRAM = 2,
        SOCK_RAW = 3,
        SOCK_SEQPACKET = 5,
    }

    /// <summary>ni_copyfile flags (none: <c>default</c>).</summary>
    [Flags]
    internal enum CopyFlags
    {
        COPY_OVERWRITE = 0x0001,
        COPY_DURABLE = 0x0002,
    }

    /// <summary>ni_spawn flags (none: <c>default</c>).</summary>
    [Flags]
    internal enum SpawnFlags
    {
        SPAWN_DEFAULT_SIGPIPE = 0x0001,
        SPAWN_RAW_ARGUMENTS = 0x0002,
        SPAWN_NO_WINDOW = 0x0004,
        SPAWN_INHERIT_STDIO = 0x0008,
        SPAWN_SUSPENDED = 0x0010,
        SPAWN_NEW_PROCESS_GROUP = 0x0020,
        SPAWN_DETACHED = 0x0040,
        SPAWN_KILL_ON_PARENT_EXIT = 0x0080,
        SPAWN_PROCESS_TREE = 0x0100,
        SPAWN_LISTEN_PID = 0x0200,
    }

    /// <summary>ni_wait_readable results: which of the two handles can be read without blocking (none: <c>default</c>).</summary>
    [Flags]
    internal enum ReadableFlags
    {
        READABLE_FIRST = 0x0001,
        READABLE_SECOND = 0x0002,
    }

    /// <summary>The portable class of a platform error code (ni_error_kind); <see cref="Errors"/> maps them to exceptions.</summary>
    internal enum ErrorKind
    {
        ERR_OTHER = 0,
        ERR_NOENT = 1,
        ERR_NOTDIR_PATH = 2,
        ERR_ACCESS = 3,
        ERR_EXIST = 4,
        ERR_ISDIR = 5,
        ERR_NOTDIR = 6,
        ERR_NAMETOOLONG = 7,
        ERR_WOULDBLOCK = 8,
        ERR_INVAL = 9,
        ERR_BADF = 10,
        ERR_MFILE = 11,
        ERR_NOSPC = 12,
        ERR_FBIG = 13,
        ERR_LOOP = 14,
        ERR_ROFS = 15,
        ERR_AFNOSUPPORT = 16,
        ERR_PROTONOSUPPORT = 17,
        ERR_PROTOTYPE = 18,
        ERR_SOCKTNOSUPPORT = 19,
        ERR_NOTSOCK = 20,
        ERR_OPNOTSUPP = 21,
        ERR_CONNABORTED = 22,
        ERR_NOMEM = 23,
        ERR_INTR = 24,
        ERR_CONNRESET = 25,
        ERR_NOTCONN = 26,
        ERR_CANCELED = 27,
        ERR_SRCH = 28,
        ERR_CHILD = 29,
        ERR_PIPE = 30,
    }
}
