using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// Sockets that stand beside <see cref="Socket"/>: created and accepted non-inheritable in the creating
/// call itself (SOCK_CLOEXEC, accept4), returned as ordinary <see cref="Socket"/> objects.
/// </summary>
public static class NoInheritSocket
{
    /// <summary>The sockets the runtime's asynchronous accept gave inheritable, which AcceptAsync repaired.</summary>
    internal static readonly AcceptRepairs AsyncAcceptRepairs = new();

    /// <summary>Creates a non-inheritable socket, as <c>new Socket(addressFamily, socketType, protocolType)</c>.</summary>
    /// <param name="addressFamily">InterNetwork, InterNetworkV6 or Unix.</param>
    /// <param name="socketType">Stream, Dgram, Raw, Rdm or Seqpacket.</param>
    /// <param name="protocolType">The protocol, or Unspecified for the family's default.</param>
    /// <returns>The socket; the caller owns it.</returns>
    /// <exception cref="SocketException">The combination is not supported, or the system is out of descriptors.</exception>
    public static Socket Create(AddressFamily addressFamily, SocketType socketType, ProtocolType protocolType)
    {
        if (OperatingSystem.IsWindows() && !IsPortable(addressFamily, socketType, protocolType))
            return CreateAsWindowsBclDoes(addressFamily, socketType, protocolType);

        // The checks of the BCL's own socket creation, in its order: family, type, then the protocol table.
        Interop.AddressFamily family = addressFamily switch
        {
            AddressFamily.InterNetwork => Interop.AddressFamily.AF_INET,
            AddressFamily.InterNetworkV6 => Interop.AddressFamily.AF_INET6,
            AddressFamily.Unix => Interop.AddressFamily.AF_UNIX,
            AddressFamily.Unspecified => Interop.AddressFamily.AF_UNSPEC, // accepted here, refused below with what socket() says
            _ => throw new SocketException((int)SocketError.AddressFamilyNotSupported),
        };
        Interop.SocketType type = socketType switch
        {
            SocketType.Stream => Interop.SocketType.SOCK_STREAM,
            SocketType.Dgram => Interop.SocketType.SOCK_DGRAM,
            SocketType.Raw => Interop.SocketType.SOCK_RAW,
            SocketType.Seqpacket => Interop.SocketType.SOCK_SEQPACKET,
            SocketType.Rdm => default, // accepted here, refused below with what socket() says
            _ => throw new SocketException((int)SocketError.ProtocolType),
        };
        int protocol = PlatformProtocol(addressFamily, protocolType)
            ?? throw new SocketException((int)SocketError.ProtocolNotSupported);
        if (addressFamily == AddressFamily.Unspecified)
            throw new SocketException((int)SocketError.AddressFamilyNotSupported);
        if (socketType == SocketType.Rdm)
            throw new SocketException((int)SocketError.SocketNotSupported);

        int error = Interop.Socket(family, type, protocol, out SafeSocketHandle handle);
        if (error != 0)
            throw Errors.ForSocket(error);
        Socket socket = SocketState.ForNewDescriptor(handle);
        try
        {
            SocketState.AsCreated(socket, addressFamily, socketType, protocolType);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return socket;
    }

    /// <summary>Whether ni_socket can express the combination: its portable families and types, and a protocol number.</summary>
    private static bool IsPortable(AddressFamily family, SocketType type, ProtocolType protocol) =>
        family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6 or AddressFamily.Unix
        && type is SocketType.Stream or SocketType.Dgram or SocketType.Raw or SocketType.Seqpacket
        && protocol >= 0;

    /// <summary>
    /// Windows, for what ni_socket cannot express: the BCL's Socket hands any family, type and protocol to WSASocketW and
    /// Winsock alone decides (it creates AF_UNSPEC sockets with a protocol, and type 0 ones; it names its own error for the
    /// rest), so no table here could give the same answers. The BCL creates the socket as ni_socket does, with
    /// WSA_FLAG_NO_HANDLE_INHERIT: non-inheritable in the creating call. Checked all the same, since that is our promise.
    /// </summary>
    private static Socket CreateAsWindowsBclDoes(AddressFamily family, SocketType type, ProtocolType protocol)
    {
        var socket = new Socket(family, type, protocol);
        try
        {
            if (Inheritance.IsInheritable(socket.SafeHandle))
                throw new InvalidOperationException("The runtime created an inheritable socket; NoInherit.Native refuses to return it.");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return socket;
    }

    /// <summary>
    /// The protocol number the BCL passes to socket() on Unix, or null where its table refuses the value
    /// (SocketError.ProtocolNotSupported before any system call). Windows passes the value through.
    /// </summary>
    private static int? PlatformProtocol(AddressFamily family, ProtocolType protocol)
    {
        if (OperatingSystem.IsWindows())
            return protocol == ProtocolType.Unknown ? null : (int)protocol;
        return family switch
        {
            AddressFamily.InterNetwork => protocol switch
            {
                ProtocolType.Unspecified or ProtocolType.Icmp or ProtocolType.Igmp or ProtocolType.Tcp or ProtocolType.Udp
                    or ProtocolType.Raw => (int)protocol,
                _ => null,
            },
            AddressFamily.InterNetworkV6 => protocol switch
            {
                ProtocolType.Icmp or ProtocolType.IcmpV6 => (int)ProtocolType.IcmpV6,
                ProtocolType.Unspecified or ProtocolType.Tcp or ProtocolType.Udp or ProtocolType.Igmp or ProtocolType.Raw
                    or ProtocolType.IPv6DestinationOptions or ProtocolType.IPv6NoNextHeader or ProtocolType.IPv6RoutingHeader
                    or ProtocolType.IPv6FragmentHeader => (int)protocol,
                _ => null,
            },
            _ => protocol == ProtocolType.Unspecified ? 0 : null,
        };
    }

    /// <summary>Accepts a pending connection into a non-inheritable socket, as <see cref="Socket.Accept"/>.</summary>
    /// <param name="listener">A bound, listening socket.</param>
    /// <returns>The connected socket; the caller owns it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="listener"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="listener"/> is disposed.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="listener"/> is not bound or not listening.</exception>
    /// <exception cref="SocketException">The accept failed, or <paramref name="listener"/> is non-blocking and no connection is pending (WouldBlock).</exception>
    public static Socket Accept(Socket listener)
    {
        ValidateListener(listener);
        while (true)
        {
            if (TryAccept(listener, out Socket? accepted))
                return accepted;
            if (!listener.Blocking)
                throw new SocketException((int)SocketError.WouldBlock);
            // The descriptor itself may be non-blocking (the runtime makes it so once it was used
            // asynchronously): wait for a connection, as a blocking accept would.
            listener.Poll(-1, SelectMode.SelectRead);
        }
    }

    /// <summary>Accepts a connection asynchronously into a non-inheritable socket, as <see cref="Socket.AcceptAsync(CancellationToken)"/>.</summary>
    /// <param name="listener">A bound, listening socket.</param>
    /// <param name="cancellationToken">Cancels the wait; no connection is taken once it is cancelled.</param>
    /// <returns>The connected socket; the caller owns it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="listener"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="listener"/> is disposed.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="listener"/> is not bound or not listening.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <remarks>
    /// The accept is the runtime's own <see cref="Socket.AcceptAsync(CancellationToken)"/>, waiting in its socket engine
    /// (no thread per pending accept), with its exceptions and cancellation. The runtime creates the accepted socket
    /// non-inheritable in the accepting call on Linux (accept4 with SOCK_CLOEXEC) and Windows (AcceptEx into a socket
    /// created with WSA_FLAG_NO_HANDLE_INHERIT); elsewhere (macOS, BSD) it sets the flag right after. Each accepted socket
    /// is checked: one that is inheritable all the same (a Winsock provider that drops the flag) is made non-inheritable
    /// before it is returned, and <see cref="Inheritance.Capabilities"/> stops reporting
    /// <see cref="NoInheritCapabilities.AcceptAtomic"/>.
    /// </remarks>
    public static ValueTask<Socket> AcceptAsync(Socket listener, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(listener);
        return AcceptThenRepairAsync(listener, cancellationToken);
    }

    private static async ValueTask<Socket> AcceptThenRepairAsync(Socket listener, CancellationToken cancellationToken) =>
        AsyncAcceptRepairs.Check(await listener.AcceptAsync(cancellationToken).ConfigureAwait(false));

    private static bool TryAccept(Socket listener, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Socket? accepted)
    {
        int error = Interop.Accept(listener.SafeHandle, out SafeSocketHandle handle);
        if (error != 0)
        {
            accepted = null;
            if (Errors.Kind(error) == Interop.ErrorKind.ERR_WOULDBLOCK)
                return false;
            if (listener.SafeHandle.IsClosed)
                throw new ObjectDisposedException(typeof(Socket).FullName);
            throw Errors.ForSocket(error);
        }
        accepted = Wrap(handle);
        // As Socket.Accept: the accepted socket takes the listener's blocking mode.
        if (!listener.Blocking)
            accepted.Blocking = false;
        return true;
    }

    private static void ValidateListener(Socket listener)
    {
        ArgumentNullException.ThrowIfNull(listener);
        if (listener.SafeHandle.IsClosed)
            throw new ObjectDisposedException(typeof(Socket).FullName);
        if (!listener.IsBound)
            throw new InvalidOperationException("You must call the Bind method before performing this operation.");
        bool listening;
        try
        {
            listening = listener.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection) is int value && value != 0;
        }
        catch (SocketException)
        {
            listening = false;
        }
        if (!listening)
            throw new InvalidOperationException("You must call the Listen method before performing this operation.");
    }

    private static Socket Wrap(SafeSocketHandle handle)
    {
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
}
