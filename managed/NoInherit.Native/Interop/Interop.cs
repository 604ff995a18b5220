using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

[assembly: DisableRuntimeMarshalling]

namespace NoInherit.Native;

/// <summary>
/// The C ABI of libnoinherit (noinherit.h): the only place that declares native entry points, one small declaration
/// each. A handle of ours goes in as a <see cref="SafeHandle"/> (the generated code holds a reference for the call, so
/// the handle cannot be closed and its number reused meanwhile) and comes out as one: see <see cref="Owned(int, SafeHandle)"/>.
/// Every entry point, and the progress callback, is cdecl, the C library's convention: the runtime's default on 32-bit
/// Windows is stdcall, and a callback declared so unbalances the stack of the C code that calls it (win-x86).
/// </summary>
internal static unsafe partial class Interop
{
    internal const string Library = "noinherit";

    /// <summary>
    /// What every creating call returns through. The generated code creates the out-parameter's SafeHandle before the
    /// call and wraps whatever the out-parameter holds after it, so the descriptor is owned from the instant the call
    /// returns; but after a failure, which writes no out-parameter, that is the zero it was initialised to, a valid
    /// descriptor number (standard input) that a Dispose or the finalizer would close. So a failed call's handle is
    /// marked invalid here, without releasing anything, before the caller sees it.
    /// </summary>
    private static int Owned(int error, SafeHandle result)
    {
        if (error != 0)
            result.SetHandleAsInvalid();
        return error;
    }

    private static int Owned(int error, SafeHandle first, SafeHandle second)
    {
        if (error != 0)
            second.SetHandleAsInvalid();
        return Owned(error, first);
    }

    /// <summary>ni_open.</summary>
    internal static int Open(string path, OpenFlags flags, int mode, out SafeFileHandle result) =>
        Owned(NiOpen(path, flags, mode, out result), result);

    [LibraryImport(Library, EntryPoint = "ni_open", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int NiOpen(string path, OpenFlags flags, int mode, out SafeFileHandle result);

    /// <summary>ni_socket.</summary>
    internal static int Socket(AddressFamily family, SocketType type, int protocol, out SafeSocketHandle result) =>
        Owned(NiSocket(family, type, protocol, out result), result);

    [LibraryImport(Library, EntryPoint = "ni_socket")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int NiSocket(AddressFamily family, SocketType type, int protocol, out SafeSocketHandle result);

    /// <summary>ni_accept, without the peer's address.</summary>
    internal static int Accept(SafeSocketHandle listener, out SafeSocketHandle result) =>
        Owned(NiAccept(listener, null, null, out result), result);

    [LibraryImport(Library, EntryPoint = "ni_accept")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int NiAccept(SafeSocketHandle listener, void* address, int* addressLength, out SafeSocketHandle result);

    /// <summary>ni_pipe.</summary>
    internal static int Pipe(out SafeFileHandle readEnd, out SafeFileHandle writeEnd) =>
        Owned(NiPipe(out readEnd, out writeEnd), readEnd, writeEnd);

    [LibraryImport(Library, EntryPoint = "ni_pipe")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int NiPipe(out SafeFileHandle readEnd, out SafeFileHandle writeEnd);

    /// <summary>ni_dup.</summary>
    internal static int Dup(SafeHandle handle, out SafeFileHandle result) => Owned(NiDup(handle, out result), result);

    [LibraryImport(Library, EntryPoint = "ni_dup")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int NiDup(SafeHandle handle, out SafeFileHandle result);

    /// <summary>ni_copyfile_ex; <paramref name="progress"/> is an ni_copy_progress (may be null), called on the copying thread.</summary>
    [LibraryImport(Library, EntryPoint = "ni_copyfile_ex", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int CopyFileEx(string source, string destination, CopyFlags flags,
        delegate* unmanaged[Cdecl]<long, void*, int> progress, void* state);

    /// <summary>ni_wait_readable (POSIX only); a null handle is NI_INVALID_HANDLE, none.</summary>
    internal static int WaitReadable(SafeHandle? first, SafeHandle? second, int timeoutMs, out ReadableFlags ready) =>
        NiWaitReadable(first ?? s_noHandle, second ?? s_noHandle, timeoutMs, out ready);

    private static readonly SafeFileHandle s_noHandle = new(INVALID_HANDLE, ownsHandle: false);

    [LibraryImport(Library, EntryPoint = "ni_wait_readable")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    private static partial int NiWaitReadable(SafeHandle first, SafeHandle second, int timeoutMs, out ReadableFlags ready);

    [LibraryImport(Library, EntryPoint = "ni_get_inheritable")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int GetInheritable(SafeHandle handle, out int inheritable);

    [LibraryImport(Library, EntryPoint = "ni_set_inheritable")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int SetInheritable(SafeHandle handle, int inheritable);

    [LibraryImport(Library, EntryPoint = "ni_preallocate")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int Preallocate(SafeHandle handle, long length);

    [LibraryImport(Library, EntryPoint = "ni_capabilities")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial NoInheritCapabilities Capabilities();

    [LibraryImport(Library, EntryPoint = "ni_version")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial byte* Version();

    [LibraryImport(Library, EntryPoint = "ni_error_kind")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial ErrorKind GetErrorKind(int error);

    /// <summary>ni_error_code: the platform's code for a class, for a condition found without a native call.</summary>
    [LibraryImport(Library, EntryPoint = "ni_error_code")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int GetErrorCode(ErrorKind kind);

    [LibraryImport(Library, EntryPoint = "ni_error_message")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ErrorMessage(int error, byte* buffer, int size);

    // ---- Audit and seal: descriptors of this process by number, owned by whoever opened them. ----

    /// <summary>ni_handle_info.</summary>
    internal struct HandleInfo
    {
        public nint Handle;
        public HandleKind Kind;
        public int Inheritable;
    }

    [LibraryImport(Library, EntryPoint = "ni_list_handles")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ListHandles(HandleInfo* buffer, int capacity, out int count);

    [LibraryImport(Library, EntryPoint = "ni_describe")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int Describe(nint handle, byte* buffer, int size, out HandleKind kind);

    [LibraryImport(Library, EntryPoint = "ni_unsetenv", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int UnsetEnvironmentVariable(string name);

    [LibraryImport(Library, EntryPoint = "ni_socket_share")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int SocketShare(SafeSocketHandle socket, long processId, byte* information, ref int length);

    [LibraryImport(Library, EntryPoint = "ni_seal")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int Seal(nint* keep, int keepCount, out int changed);

    // ---- ni_spawn and friends (ChildProcess) ----

    /// <summary>ni_fd_mapping. The sources are held by <see cref="HandleMappings"/> for the call.</summary>
    internal struct FdMapping
    {
        public nint Source;
        public int Target;
    }

    /// <summary>ni_process. Its handles are owned by the <see cref="ChildWaitState"/>, which closes them (ni_process_close
    /// releases all three). Resume and Job are NI_INVALID_HANDLE unless the flags that fill them are passed.</summary>
    internal struct ProcessInfo
    {
        public long Pid;
        public nint Handle;
        public nint Resume;
        public nint Job;
    }

    /// <summary>ni_spawn; the strings are NUL-terminated UTF-8, argv and envp NULL-terminated arrays (envp may be null).</summary>
    [LibraryImport(Library, EntryPoint = "ni_spawn")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int Spawn(byte* path, byte** argv, byte** envp, byte* cwd, FdMapping* mappings, int mappingCount,
        SpawnFlags flags, ProcessInfo* result);

    /// <summary>ni_wait_status: collects the exit, with the signal that ended the child (0, a portable NI_SIG* value, or the
    /// system's number). Called with a timeout of 0 ("just look": it never blocks) but in the one case ChildWaitState names.</summary>
    [LibraryImport(Library, EntryPoint = "ni_wait_status")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int WaitStatus(ProcessInfo* process, int timeoutMs, out int exited, out int exitCode, out int signal);

    /// <summary>ni_signal_number: this system's number for a signal (a portable NI_SIG* value or a system number); 0: none.</summary>
    [LibraryImport(Library, EntryPoint = "ni_signal_number")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int SignalNumber(int signal);

    /// <summary>ni_can_execute: the PATH search's test of a candidate.</summary>
    [LibraryImport(Library, EntryPoint = "ni_can_execute", StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int CanExecute(string path, out int executable);

    /// <summary>ni_wait_for_exit: waits for the exit without collecting the child.</summary>
    [LibraryImport(Library, EntryPoint = "ni_wait_for_exit")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int WaitForExit(ProcessInfo* process, int timeoutMs, out int exited);

    [LibraryImport(Library, EntryPoint = "ni_kill")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int Kill(ProcessInfo* process, int signal);

    /// <summary>ni_kill_tree: the child and its descendants (its group, its job on Windows).</summary>
    [LibraryImport(Library, EntryPoint = "ni_kill_tree")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int KillTree(ProcessInfo* process, int signal);

    /// <summary>ni_signal_group: the group the child leads (Windows: CTRL_BREAK_EVENT to it), else the child alone.</summary>
    [LibraryImport(Library, EntryPoint = "ni_signal_group")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int SignalGroup(ProcessInfo* process, int signal);

    /// <summary>ni_process_resume: lets a suspended child run its program; releases process->resume.</summary>
    [LibraryImport(Library, EntryPoint = "ni_process_resume")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ProcessResume(ProcessInfo* process);

    /// <summary>ni_close, for a handle no SafeHandle owns (a suspended child's resume handle).</summary>
    [LibraryImport(Library, EntryPoint = "ni_close")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int Close(nint handle);

    [LibraryImport(Library, EntryPoint = "ni_process_close")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ProcessClose(ProcessInfo* process);

    /// <summary>ni_exit_watcher_create: a set of pidfds one thread waits on (Linux); an error elsewhere.</summary>
    [LibraryImport(Library, EntryPoint = "ni_exit_watcher_create")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ExitWatcherCreate(out nint watcher);

    /// <summary>ni_exit_watcher_add: the child's exit is reported once, with <paramref name="key"/>.</summary>
    [LibraryImport(Library, EntryPoint = "ni_exit_watcher_add")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ExitWatcherAdd(nint watcher, ProcessInfo* process, long key);

    /// <summary>ni_exit_watcher_wait: the keys of the children that have exited.</summary>
    [LibraryImport(Library, EntryPoint = "ni_exit_watcher_wait")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int ExitWatcherWait(nint watcher, int timeoutMs, long* keys, int capacity, out int count);
}
