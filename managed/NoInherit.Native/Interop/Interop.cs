using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

[assembly: DisableRuntimeMarshalling]

namespace NoInherit.Native;

/// <summary>The C ABI of libnoinherit (noinherit.h). The only place that declares native entry points.</summary>
internal static unsafe partial class Interop
{
    internal const string Library = "noinherit";

    internal const int O_RDONLY = 0x0000, O_WRONLY = 0x0001, O_RDWR = 0x0002;
    internal const int O_CREAT = 0x0010, O_EXCL = 0x0020, O_TRUNC = 0x0040, O_APPEND = 0x0080;
    internal const int O_SYNC = 0x0100, O_NOFOLLOW = 0x0200, O_NOTDIR = 0x0400;
    internal const int O_SHLOCK = 0x1000, O_EXLOCK = 0x2000;
    internal const int O_SHARE_READ = 0x4000, O_SHARE_WRITE = 0x8000, O_SHARE_DELETE = 0x10000;
    internal const int O_DELETE_ON_CLOSE = 0x20000, O_ASYNC = 0x40000, O_RANDOM = 0x80000, O_SEQUENTIAL = 0x100000;

    internal const int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 3;
    internal const int SOCK_STREAM = 1, SOCK_DGRAM = 2, SOCK_RAW = 3, SOCK_SEQPACKET = 5;

    internal const int COPY_OVERWRITE = 0x0001, COPY_DURABLE = 0x0002;

    [LibraryImport(Library, EntryPoint = "ni_open", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode, out nint result);

    [LibraryImport(Library, EntryPoint = "ni_socket")]
    internal static partial int Socket(int family, int type, int protocol, out nint result);

    [LibraryImport(Library, EntryPoint = "ni_accept")]
    internal static partial int Accept(nint listener, void* address, int* addressLength, out nint result);

    [LibraryImport(Library, EntryPoint = "ni_copyfile", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CopyFile(string source, string destination, int flags);

    /// <summary>ni_copyfile_ex; <paramref name="progress"/> is an ni_copy_progress (may be null), called on the copying thread.</summary>
    [LibraryImport(Library, EntryPoint = "ni_copyfile_ex", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int CopyFileEx(string source, string destination, int flags,
        delegate* unmanaged<long, void*, int> progress, void* state);

    [LibraryImport(Library, EntryPoint = "ni_pipe")]
    internal static partial int Pipe(out nint readEnd, out nint writeEnd);

    [LibraryImport(Library, EntryPoint = "ni_dup")]
    internal static partial int Dup(nint handle, out nint result);

    [LibraryImport(Library, EntryPoint = "ni_close")]
    internal static partial int Close(nint handle);

    [LibraryImport(Library, EntryPoint = "ni_get_inheritable")]
    internal static partial int GetInheritable(nint handle, out int inheritable);

    [LibraryImport(Library, EntryPoint = "ni_set_inheritable")]
    internal static partial int SetInheritable(nint handle, int inheritable);

    [LibraryImport(Library, EntryPoint = "ni_preallocate")]
    internal static partial int Preallocate(nint handle, long length);

    [LibraryImport(Library, EntryPoint = "ni_capabilities")]
    internal static partial uint Capabilities();

    [LibraryImport(Library, EntryPoint = "ni_version")]
    internal static partial byte* Version();

    internal const int KIND_OTHER = 0, KIND_FILE = 1, KIND_DIRECTORY = 2, KIND_SOCKET = 3, KIND_PIPE = 4, KIND_CHARACTER_DEVICE = 5;

    /// <summary>ni_handle_info.</summary>
    internal struct HandleInfo
    {
        public nint Handle;
        public int Kind;
        public int Inheritable;
    }

    [LibraryImport(Library, EntryPoint = "ni_list_handles")]
    internal static partial int ListHandles(HandleInfo* buffer, int capacity, out int count);

    [LibraryImport(Library, EntryPoint = "ni_describe")]
    internal static partial int Describe(nint handle, byte* buffer, int size, out int kind);

    [LibraryImport(Library, EntryPoint = "ni_seal")]
    internal static partial int Seal(nint* keep, int keepCount, out int changed);

    [LibraryImport(Library, EntryPoint = "ni_error_kind")]
    internal static partial int ErrorKind(int error);

    [LibraryImport(Library, EntryPoint = "ni_error_message")]
    internal static partial int ErrorMessage(int error, byte* buffer, int size);

    // ---- ni_spawn and friends (ChildProcess) ----

    internal const int SPAWN_SAME_NUMBER = -1;
    internal const int SPAWN_DEFAULT_SIGPIPE = 0x0001, SPAWN_RAW_ARGUMENTS = 0x0002, SPAWN_NO_WINDOW = 0x0004, SPAWN_INHERIT_STDIO = 0x0008;
    internal const int SIGKILL = 9;

    /// <summary>ni_fd_mapping.</summary>
    internal struct FdMapping
    {
        public nint Source;
        public int Target;
    }

    /// <summary>ni_process.</summary>
    internal struct ProcessInfo
    {
        public long Pid;
        public nint Handle;
    }

    /// <summary>ni_spawn; the strings are NUL-terminated UTF-8, argv and envp NULL-terminated arrays (envp may be null).</summary>
    [LibraryImport(Library, EntryPoint = "ni_spawn")]
    internal static partial int Spawn(byte* path, byte** argv, byte** envp, byte* cwd, FdMapping* mappings, int mappingCount,
        int flags, ProcessInfo* result);

    [LibraryImport(Library, EntryPoint = "ni_wait")]
    internal static partial int Wait(ProcessInfo* process, int timeoutMs, out int exited, out int exitCode);

    /// <summary>ni_wait_for_exit: waits for the exit without collecting the child.</summary>
    [LibraryImport(Library, EntryPoint = "ni_wait_for_exit")]
    internal static partial int WaitForExit(ProcessInfo* process, int timeoutMs, out int exited);

    /// <summary>NI_INVALID_HANDLE.</summary>
    internal const nint InvalidHandle = -1;

    [LibraryImport(Library, EntryPoint = "ni_kill")]
    internal static partial int Kill(ProcessInfo* process, int signal);

    [LibraryImport(Library, EntryPoint = "ni_process_close")]
    internal static partial int ProcessClose(ProcessInfo* process);
}
