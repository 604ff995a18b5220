using System;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>Which creating calls are atomic (non-inheritable in the creating call itself) on this system.</summary>
[Flags]
public enum NoInheritCapabilities
{
    /// <summary>No creation is atomic.</summary>
    None = 0,
    /// <summary>Opening files (and the copy's two files): O_CLOEXEC / bInheritHandle=FALSE.</summary>
    OpenAtomic = 0x0001,
    /// <summary>Creating sockets: SOCK_CLOEXEC / WSA_FLAG_NO_HANDLE_INHERIT.</summary>
    SocketAtomic = 0x0002,
    /// <summary>Accepting connections: accept4 with SOCK_CLOEXEC.</summary>
    AcceptAtomic = 0x0004,
    /// <summary>Creating pipes: pipe2 with O_CLOEXEC / CreatePipe.</summary>
    PipeAtomic = 0x0008,
    /// <summary>Duplicating handles: F_DUPFD_CLOEXEC / DuplicateHandle.</summary>
    DuplicateAtomic = 0x0010,
}

/// <summary>Reads and changes whether a child process would inherit a handle, as Python's os.get_inheritable / os.set_inheritable.</summary>
public static partial class Inheritance
{
    /// <summary>Returns true if a child process started now would inherit <paramref name="handle"/>.</summary>
    /// <param name="handle">A file, socket or pipe handle.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid or not an open descriptor.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed.</exception>
    public static bool IsInheritable(SafeHandle handle)
    {
        int error = HandleCall.Invoke(handle, static fd => (Interop.GetInheritable(fd, out int inheritable), inheritable), out int value);
        if (error != 0)
            throw Errors.ForHandle(error);
        return value != 0;
    }

    /// <summary>Makes <paramref name="handle"/> inheritable by child processes, or not.</summary>
    /// <param name="handle">A file, socket or pipe handle.</param>
    /// <param name="inheritable">true to let children inherit it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid or not an open descriptor.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed.</exception>
    public static void SetInheritable(SafeHandle handle, bool inheritable)
    {
        // Two static lambdas rather than one capturing `inheritable`: no delegate and closure allocated per call.
        int error = inheritable
            ? HandleCall.Invoke(handle, static fd => (Interop.SetInheritable(fd, 1), 0), out _)
            : HandleCall.Invoke(handle, static fd => (Interop.SetInheritable(fd, 0), 0), out _);
        if (error != 0)
            throw Errors.ForHandle(error);
    }

    /// <summary>Which creating calls are atomic on the running system.</summary>
    public static NoInheritCapabilities Capabilities => (NoInheritCapabilities)Interop.Capabilities();

    /// <summary>The version of the native library, "MAJOR.MINOR.PATCH".</summary>
    public static unsafe string NativeVersion => Marshal.PtrToStringUTF8((nint)Interop.Version()) ?? string.Empty;
}
