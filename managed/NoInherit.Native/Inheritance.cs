using System;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

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
        ThrowIfUnusable(handle);
        int error = Interop.GetInheritable(handle, out int inheritable);
        if (error != 0)
            throw Errors.ForHandle(error);
        return inheritable != 0;
    }

    /// <summary>Makes <paramref name="handle"/> inheritable by child processes, or not.</summary>
    /// <param name="handle">A file, socket or pipe handle.</param>
    /// <param name="inheritable">true to let children inherit it.</param>
    /// <exception cref="ArgumentNullException"><paramref name="handle"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="handle"/> is invalid or not an open descriptor.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="handle"/> is closed.</exception>
    public static void SetInheritable(SafeHandle handle, bool inheritable)
    {
        ThrowIfUnusable(handle);
        int error = Interop.SetInheritable(handle, inheritable ? 1 : 0);
        if (error != 0)
            throw Errors.ForHandle(error);
    }

    /// <summary>
    /// Which creating calls are atomic on the running system. <see cref="NoInheritCapabilities.AcceptAtomic"/> also
    /// covers <see cref="NoInheritSocket.AcceptAsync"/>, which accepts through the runtime's socket engine: it is cleared
    /// once the runtime gave an accepted socket that was inheritable (which AcceptAsync then repaired).
    /// </summary>
    public static NoInheritCapabilities Capabilities => CapabilitiesAfter(NoInheritSocket.AsyncAcceptRepairs);

    /// <summary>The native library's capabilities, less atomic accepts once <paramref name="repairs"/> has repaired one.</summary>
    internal static NoInheritCapabilities CapabilitiesAfter(AcceptRepairs repairs) =>
        Interop.Capabilities() & ~(repairs.Any ? NoInheritCapabilities.AcceptAtomic : 0);

    /// <summary>The version of the native library, "MAJOR.MINOR.PATCH".</summary>
    public static unsafe string NativeVersion => Marshal.PtrToStringUTF8((nint)Interop.Version()) ?? string.Empty;

    /// <summary>
    /// A caller's handle as the BCL checks one: not null, not closed, not invalid. (Holding it open for the call is the
    /// generated marshalling's job.)
    /// </summary>
    internal static void ThrowIfUnusable(SafeHandle handle, string paramName = "handle")
    {
        ArgumentNullException.ThrowIfNull(handle, paramName);
        if (handle.IsClosed)
            throw new ObjectDisposedException(handle.GetType().FullName, "Cannot access a closed handle.");
        if (handle.IsInvalid)
            throw new ArgumentException("The handle is invalid.", paramName);
    }
}
