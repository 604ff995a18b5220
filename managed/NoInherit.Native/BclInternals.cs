using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// Every private member of the BCL this library reaches, in one place: <see cref="UnsafeAccessorAttribute"/> accessors
/// (trimming- and AOT-safe; no reflection). They give a handle or socket we created the state the BCL keeps for one it
/// created itself. A runtime that renamed a member makes its accessor throw <see cref="MissingMemberException"/>;
/// each accessor below names what happens then (the fallback), and <see cref="Unresolved"/>, which the tests call on
/// every target framework, lists the accessors that no longer resolve, so that a rename fails a test rather than
/// silently switching to the fallback.
/// </summary>
internal static class BclInternals
{
    // ---- SafeFileHandle (System.Private.CoreLib) ----

    /// <summary>
    /// The path of a file handle (FileStream.Name, the BCL's exception messages). Fallback: not recorded, so FileStream.Name
    /// is "[Unknown]"; nothing else changes.
    /// </summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_path")]
    internal static extern ref string? FilePath(SafeFileHandle handle);

    /// <summary>
    /// Unix: delete-on-close, which the BCL emulates by removing the path when the handle is released. Fallback:
    /// <see cref="System.IO.FileOptions.DeleteOnClose"/> is refused with PlatformNotSupportedException (Windows passes it
    /// to CreateFileW and needs no field).
    /// </summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_deleteOnClose")]
    internal static extern ref bool FileDeleteOnClose(SafeFileHandle handle);

    /// <summary>
    /// Unix: whether the BCL took an flock, which it releases before close so that a duplicate or a child's copy of the
    /// descriptor does not keep the file locked. Fallback: the lock is released at close, a moment later.
    /// </summary>
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_isLocked")]
    internal static extern ref bool FileIsLocked(SafeFileHandle handle);

    /// <summary>
    /// Unix: SafeFileHandle.IsAsync, which FileStream checks against its isAsync argument. Fallback:
    /// <see cref="System.IO.FileOptions.Asynchronous"/> is refused with PlatformNotSupportedException.
    /// </summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_IsAsync")]
    internal static extern void SetFileIsAsync(SafeFileHandle handle, bool value);

    // ---- Socket (System.Net.Sockets) ----

    /// <summary>
    /// The constructor Socket.Accept uses, which does not query the descriptor (getsockopt x3, getsockname; they made
    /// Create 1.4x new Socket). Fallback: the public <c>new Socket(SafeSocketHandle)</c>, which queries it.
    /// </summary>
    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    internal static extern Socket NewSocket(SafeSocketHandle handle, bool loadPropertiesFromHandle);

    // The family, type and protocol as the caller gave them (not as the kernel reports them), and no end points, as
    // new Socket(family, type, protocol) has them. Fallback, for the five together: the socket keeps what it read
    // from the descriptor (the kernel's names, e.g. ProtocolType.Tcp for Unspecified).

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_addressFamily")]
    internal static extern ref AddressFamily SocketAddressFamily(Socket socket);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_socketType")]
    internal static extern ref SocketType SocketSocketType(Socket socket);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_protocolType")]
    internal static extern ref ProtocolType SocketProtocolType(Socket socket);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_rightEndPoint")]
    internal static extern ref EndPoint? SocketRightEndPoint(Socket socket);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_localEndPoint")]
    internal static extern ref EndPoint? SocketLocalEndPoint(Socket socket);

    // ---- DataReceivedEventArgs (System.Diagnostics.Process) ----

    /// <summary>
    /// The constructor Process uses for each line of <c>BeginOutputReadLine</c> (internal: the type has no public one), so
    /// that <see cref="ChildProcess.OutputDataReceived"/> hands out the very type Process's handlers take. Fallback: none;
    /// <see cref="ChildProcess.BeginOutputReadLine"/> and <see cref="ChildProcess.BeginErrorReadLine"/> throw
    /// <see cref="MissingMemberException"/> on the calling thread (they make one first), not later on a reading thread.
    /// </summary>
    [UnsafeAccessor(UnsafeAccessorKind.Constructor)]
    internal static extern DataReceivedEventArgs NewDataReceivedEventArgs(string? data);

    /// <summary>
    /// The accessors this library uses on the running platform that do not resolve on the running runtime: each is
    /// called once on a scratch object (changing nothing that matters). Empty when all resolve.
    /// </summary>
    internal static IReadOnlyList<string> Unresolved()
    {
        var missing = new List<string>();
        void Check(string name, Action access)
        {
            try
            {
                access();
            }
            catch (MissingMemberException)
            {
                missing.Add(name);
            }
        }

        using var file = new SafeFileHandle();
        Check("SafeFileHandle._path", () => FilePath(file) = FilePath(file));
        if (!OperatingSystem.IsWindows())
        {
            Check("SafeFileHandle._deleteOnClose", () => FileDeleteOnClose(file) = false);
            Check("SafeFileHandle._isLocked", () => FileIsLocked(file) = false);
            Check("SafeFileHandle.set_IsAsync", () => SetFileIsAsync(file, false));
        }

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Check("Socket(SafeSocketHandle, bool)", () => NewSocket(new SafeSocketHandle(socket.Handle, ownsHandle: false), false).Dispose());
        Check("Socket._addressFamily", () => SocketAddressFamily(socket) = SocketAddressFamily(socket));
        Check("Socket._socketType", () => SocketSocketType(socket) = SocketSocketType(socket));
        Check("Socket._protocolType", () => SocketProtocolType(socket) = SocketProtocolType(socket));
        Check("Socket._rightEndPoint", () => SocketRightEndPoint(socket) = SocketRightEndPoint(socket));
        Check("Socket._localEndPoint", () => SocketLocalEndPoint(socket) = SocketLocalEndPoint(socket));
        Check("DataReceivedEventArgs(string)", () => NewDataReceivedEventArgs(null));
        return missing;
    }
}
