using System;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// Sockets that stand beside <see cref="Socket"/>: created and accepted non-inheritable in the creating
/// call itself (SOCK_CLOEXEC, accept4), returned as ordinary <see cref="Socket"/> objects.
/// </summary>
public static class NoInheritSocket
{
    // How often a pending AcceptAsync looks at its cancellation token while it waits.
    private const int AcceptPollMicroseconds = 100_000;

    /// <summary>Creates a non-inheritable socket, as <c>new Socket(addressFamily, socketType, protocolType)</c>.</summary>
    /// <param name="addressFamily">InterNetwork, InterNetworkV6 or Unix.</param>
    /// <param name="socketType">Stream, Dgram, Raw, Rdm or Seqpacket.</param>
    /// <param name="protocolType">The protocol, or Unspecified for the family's default.</param>
    /// <returns>The socket; the caller owns it.</returns>
    /// <exception cref="SocketException">The combination is not supported, or the system is out of descriptors.</exception>
    public static Socket Create(AddressFamily addressFamily, SocketType socketType, ProtocolType protocolType)
    {
        int family = addressFamily switch
        {
            AddressFamily.InterNetwork => Interop.AF_INET,
            AddressFamily.InterNetworkV6 => Interop.AF_INET6,
            AddressFamily.Unix => Interop.AF_UNIX,
            _ => throw new SocketException((int)SocketError.AddressFamilyNotSupported),
        };
        int type = socketType switch
        {
            SocketType.Stream => Interop.SOCK_STREAM,
            SocketType.Dgram => Interop.SOCK_DGRAM,
            SocketType.Raw => Interop.SOCK_RAW,
            SocketType.Seqpacket => Interop.SOCK_SEQPACKET,
            SocketType.Rdm => throw new SocketException((int)SocketError.SocketNotSupported),
            _ => throw new SocketException((int)SocketError.ProtocolType),
        };
        int protocol = protocolType switch
        {
            ProtocolType.Unspecified => 0,
            ProtocolType.Unknown => throw new SocketException((int)SocketError.ProtocolNotSupported),
            _ => (int)protocolType,
        };

        var handle = new SafeSocketHandle();
        int error = Interop.Socket(family, type, protocol, out nint fd);
        if (error != 0)
        {
            handle.Dispose();
            throw Errors.ForSocket(error);
        }
        Marshal.InitHandle(handle, fd);
        return Wrap(handle);
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
    /// <remarks>While no connection is pending, the wait occupies a dedicated thread (polling the listener),
    /// not a thread-pool thread.</remarks>
    public static ValueTask<Socket> AcceptAsync(Socket listener, CancellationToken cancellationToken = default)
    {
        ValidateListener(listener);
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<Socket>(cancellationToken);
        if (listener.Poll(0, SelectMode.SelectRead) && TryAccept(listener, out Socket? ready))
            return ValueTask.FromResult(ready);

        return new ValueTask<Socket>(Task.Factory.StartNew(() =>
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (listener.Poll(AcceptPollMicroseconds, SelectMode.SelectRead)
                    && !cancellationToken.IsCancellationRequested
                    && TryAccept(listener, out Socket? accepted))
                {
                    return accepted;
                }
            }
        }, cancellationToken, TaskCreationOptions.LongRunning | TaskCreationOptions.DenyChildAttach, TaskScheduler.Default));
    }

    private static bool TryAccept(Socket listener, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Socket? accepted)
    {
        var handle = new SafeSocketHandle();
        int error;
        nint fd;
        unsafe
        {
            error = HandleCall.Invoke(listener.SafeHandle, static l => (Interop.Accept(l, null, null, out nint s), s), out fd);
        }
        if (error != 0)
        {
            handle.Dispose();
            accepted = null;
            if (Errors.Kind(error) == Errors.WouldBlock)
                return false;
            if (listener.SafeHandle.IsClosed)
                throw new ObjectDisposedException(typeof(Socket).FullName);
            throw Errors.ForSocket(error);
        }
        Marshal.InitHandle(handle, fd);
        accepted = Wrap(handle);
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
