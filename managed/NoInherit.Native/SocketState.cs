using System;
using System.Net.Sockets;

namespace NoInherit.Native;

/// <summary>
/// Gives a Socket made from a new descriptor the state <c>new Socket(family, type, protocol)</c> has: the family, type
/// and protocol as the caller gave them (not as the kernel reports them), not bound, and on Unix IPv6-only for non-raw
/// IPv6 sockets, as the BCL sets it. The fields are private to System.Net.Sockets (<see cref="BclInternals"/>, which
/// says what happens where one is missing).
/// </summary>
internal static class SocketState
{
    /// <summary>
    /// A Socket over a descriptor just created, whose properties the caller knows and sets (<see cref="AsCreated"/>): the
    /// constructor Socket.Accept uses, which skips the queries new Socket(SafeSocketHandle) makes. The public constructor
    /// where the private one is missing. Disposes the handle if no Socket can be made.
    /// </summary>
    internal static Socket ForNewDescriptor(SafeSocketHandle handle)
    {
        try
        {
            return BclInternals.NewSocket(handle, loadPropertiesFromHandle: false);
        }
        catch (MissingMethodException)
        {
        }
        try
        {
            return new Socket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    internal static void AsCreated(Socket socket, AddressFamily family, SocketType type, ProtocolType protocol)
    {
        try
        {
            BclInternals.SocketAddressFamily(socket) = family;
            BclInternals.SocketSocketType(socket) = type;
            BclInternals.SocketProtocolType(socket) = protocol;
            BclInternals.SocketRightEndPoint(socket) = null;
            BclInternals.SocketLocalEndPoint(socket) = null;
        }
        catch (MissingFieldException)
        {
        }
        if (family == AddressFamily.InterNetworkV6 && type != SocketType.Raw && !OperatingSystem.IsWindows())
            socket.DualMode = false;
    }
}
