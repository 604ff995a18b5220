using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>NoInheritSocket.Accept / AcceptAsync against Socket.Accept / AcceptAsync.</summary>
public class AcceptTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    private static Socket NewTcp(AddressFamily family = AddressFamily.InterNetwork) => new(family, SocketType.Stream, ProtocolType.Tcp);

    private static IPAddress LoopbackOf(AddressFamily family) => family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;

    private static Socket Listening(AddressFamily family = AddressFamily.InterNetwork)
    {
        Socket listener = NewTcp(family);
        listener.Bind(new IPEndPoint(LoopbackOf(family), 0));
        listener.Listen();
        return listener;
    }

    public static TheoryData<string> ListenerStates() => new()
    {
        "unbound", "bound, not listening", "disposed", "listening, then disposed", "non-blocking, nothing pending", "connected client",
        "udp, bound",
    };

    /// <summary>A fresh listener in the named state (and what must stay alive beside it).</summary>
    private static (Socket Listener, IDisposable? Keep) MakeListener(string state)
    {
        switch (state)
        {
            case "unbound":
                return (NewTcp(), null);
            case "bound, not listening":
            {
                Socket socket = NewTcp();
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                return (socket, null);
            }
            case "disposed":
            {
                Socket socket = NewTcp();
                socket.Dispose();
                return (socket, null);
            }
            case "listening, then disposed":
            {
                Socket socket = Listening();
                socket.Dispose();
                return (socket, null);
            }
            case "non-blocking, nothing pending":
            {
                Socket socket = Listening();
                socket.Blocking = false;
                return (socket, null);
            }
            case "connected client":
            {
                Socket server = Listening();
                Socket client = NewTcp();
                client.Connect(server.LocalEndPoint!);
                return (client, server);
            }
            case "udp, bound":
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                return (socket, null);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(state), state, null);
        }
    }

    private static string AcceptOutcome(string state, Func<Socket, Socket> accept)
    {
        (Socket listener, IDisposable? keep) = MakeListener(state);
        using (listener)
        using (keep)
        {
            return Outcome.Of(() =>
            {
                using Socket accepted = accept(listener);
                return "accepted " + accepted.RemoteEndPoint;
            });
        }
    }

    [Theory]
    [MemberData(nameof(ListenerStates))]
    public void Accept_OnAListenerThatCannotAccept_MatchesSocketAccept(string state)
    {
        string expected = AcceptOutcome(state, l => l.Accept());
        string actual = AcceptOutcome(state, NoInheritSocket.Accept);
        Assert.StartsWith("threw ", expected);
        Outcome.AssertSame(expected, actual);
    }

    /// <summary>The states an asynchronous accept refuses (a non-blocking listener is not one: an asynchronous accept waits).</summary>
    public static TheoryData<string> AsyncRefusedStates() => new()
    {
        "unbound", "bound, not listening", "disposed", "listening, then disposed", "connected client", "udp, bound",
    };

    [Theory]
    [MemberData(nameof(AsyncRefusedStates))]
    public async Task AcceptAsync_OnAListenerThatCannotAccept_MatchesSocketAcceptAsync(string state)
    {
        async Task<string> Run(Func<Socket, ValueTask<Socket>> accept)
        {
            (Socket listener, IDisposable? keep) = MakeListener(state);
            using (listener)
            using (keep)
            {
                try
                {
                    using Socket accepted = await accept(listener).AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken);
                    return "accepted";
                }
                catch (Exception e) when (e is not TimeoutException)
                {
                    return Outcome.Describe(e);
                }
            }
        }
        string expected = await Run(l => l.AcceptAsync(CancellationToken.None));
        string actual = await Run(l => NoInheritSocket.AcceptAsync(l));
        Assert.StartsWith("threw ", expected);
        Outcome.AssertSame(expected, actual);
    }

    private static string DescribeAccepted(Socket accepted, Socket client, Socket listener) =>
        $"{SocketTests.Describe(accepted, withLocalEndPoint: false)} RemoteEndPoint is the client's: {Equals(accepted.RemoteEndPoint, client.LocalEndPoint)}"
        + $" LocalEndPoint is the listener's: {Equals(accepted.LocalEndPoint, listener.LocalEndPoint)}"
        + $" NoDelay={accepted.NoDelay}";

    public static TheoryData<AddressFamily, bool> ConnectionCases() => new()
    {
        { AddressFamily.InterNetwork, true },
        { AddressFamily.InterNetwork, false },
        { AddressFamily.InterNetworkV6, true },
        { AddressFamily.InterNetworkV6, false },
    };

    /// <summary>A real connection, with the listener blocking or not (a connection pending): the accepted socket as the BCL's.</summary>
    [Theory]
    [MemberData(nameof(ConnectionCases))]
    public void Accept_ARealConnection_MatchesSocketAccept(AddressFamily family, bool blocking)
    {
        Assert.SkipUnless(family == AddressFamily.InterNetwork || Socket.OSSupportsIPv6, "IPv6 is not available here.");
        // The comparison includes the inheritable flag, and wine's accept() returns an inheritable socket from a non-inheritable
        // listener (it does not carry over the listener's WSA_FLAG_NO_HANDLE_INHERIT), so the BCL's side reads inheritable=True.
        // Ours stays non-inheritable under wine too (ni_accept repairs it): AcceptAsync_CompletesWhenAClientConnects and
        // InheritanceTests check that.
        Assert.SkipWhen(Wine.IsRunning, "wine's accept() makes the accepted socket inheritable, so Socket.Accept's socket is inheritable under wine and cannot be compared");
        string Run(Func<Socket, Socket> accept)
        {
            using Socket listener = Listening(family);
            using Socket client = NewTcp(family);
            client.Connect(listener.LocalEndPoint!);
            // The connection is already queued, so a non-blocking accept finds it.
            SpinWait.SpinUntil(() => listener.Poll(0, SelectMode.SelectRead), HangGuard);
            listener.Blocking = blocking;
            using Socket accepted = accept(listener);
            SocketTests.AssertExchange(client, accepted);
            return DescribeAccepted(accepted, client, listener);
        }
        string expected = Run(l => l.Accept());
        string actual = Run(NoInheritSocket.Accept);
        Assert.Contains("RemoteEndPoint is the client's: True", actual);
        Outcome.AssertSame(expected, actual);
    }

    [Fact]
    public void Accept_UnixDomainConnection_CarriesData()
    {
        Assert.SkipUnless(Socket.OSSupportsUnixDomainSockets, "Unix domain sockets are not available here.");
        using var dir = new TempDirectory();
        var endPoint = new UnixDomainSocketEndPoint(dir.Combine("listener.sock"));
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(endPoint);
        listener.Listen();
        using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        client.Connect(endPoint);
        using Socket accepted = NoInheritSocket.Accept(listener);
        Assert.Equal(AddressFamily.Unix, accepted.AddressFamily);
        Assert.False(Inheritance.IsInheritable(accepted.SafeHandle));
        SocketTests.AssertExchange(client, accepted);
    }

    [Fact]
    public async Task Accept_BlockingListener_WaitsForAConnection()
    {
        using Socket listener = Listening();
        Task<Socket> accepting = Task.Factory.StartNew(() => NoInheritSocket.Accept(listener), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        using Socket client = NewTcp();
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = await accepting.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
        SocketTests.AssertExchange(client, accepted);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AcceptAsync_CompletesWhenAClientConnects(bool connectFirst)
    {
        using Socket listener = Listening();
        using Socket client = NewTcp();
        if (connectFirst)
            await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        ValueTask<Socket> accepting = NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken);
        if (!connectFirst)
            await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = await accepting.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
        Assert.False(Inheritance.IsInheritable(accepted.SafeHandle));
        SocketTests.AssertExchange(client, accepted);
    }

    [Fact]
    public async Task AcceptAsync_CancelledBeforehand_ThrowsOperationCanceled_AsSocketAcceptAsync()
    {
        using Socket listener = Listening();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Exception expected = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await listener.AcceptAsync(cancelled.Token));
        Exception actual = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await NoInheritSocket.AcceptAsync(listener, cancelled.Token));
        Assert.Equal(cancelled.Token, ((OperationCanceledException)actual).CancellationToken);
        Assert.Equal(expected.GetType(), actual.GetType());

        // Nothing was taken: a connection made now is accepted by the next call.
        using Socket client = NewTcp();
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = await NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
    }

    [Fact]
    public async Task AcceptAsync_CancelledWhileWaiting_ThrowsOperationCanceled_AndALaterConnectionIsStillAccepted()
    {
        using Socket listener = Listening();
        using var cancellation = new CancellationTokenSource();
        ValueTask<Socket> waiting = NoInheritSocket.AcceptAsync(listener, cancellation.Token);
        Assert.False(waiting.IsCompleted);
        cancellation.Cancel();
        OperationCanceledException error = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await waiting.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken));
        Assert.Equal(cancellation.Token, error.CancellationToken);

        using Socket client = NewTcp();
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = await NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken).AsTask()
            .WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
        SocketTests.AssertExchange(client, accepted);
    }

    /// <summary>
    /// Cancelling a waiting accept: the BCL's and the library's both end in an OperationCanceledException for the token,
    /// of the same type (the library's accept is the BCL's, whose type differs between runtimes: OperationCanceledException
    /// on .NET 8, TaskCanceledException on .NET 10).
    /// </summary>
    [Fact]
    public async Task AcceptAsync_CancelledWhileWaiting_EndsAsSocketAcceptAsyncDoes()
    {
        using Socket listener = Listening();
        using var bclCancellation = new CancellationTokenSource();
        ValueTask<Socket> bclWaiting = listener.AcceptAsync(bclCancellation.Token);
        bclCancellation.Cancel();
        OperationCanceledException expected = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await bclWaiting);
        Assert.Equal(bclCancellation.Token, expected.CancellationToken);

        using var cancellation = new CancellationTokenSource();
        ValueTask<Socket> waiting = NoInheritSocket.AcceptAsync(listener, cancellation.Token);
        cancellation.Cancel();
        OperationCanceledException actual = await Assert.ThrowsAnyAsync<OperationCanceledException>(
            async () => await waiting.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken));
        Assert.Equal(cancellation.Token, actual.CancellationToken);
        Assert.Equal(expected.GetType(), actual.GetType());
    }

    [Fact]
    public async Task AcceptAndAcceptAsync_WorkOnAListenerUsedWithTheBclAsyncApiBefore()
    {
        using Socket listener = Listening();
        // The BCL's async accept leaves the descriptor non-blocking underneath, while Blocking still says true.
        using (Socket first = NewTcp())
        {
            ValueTask<Socket> bclAccept = listener.AcceptAsync(TestContext.Current.CancellationToken);
            await first.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
            using Socket bclAccepted = await bclAccept.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        }
        Assert.True(listener.Blocking);

        // Waiting asynchronously...
        using Socket second = NewTcp();
        ValueTask<Socket> pending = NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken);
        await second.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = await pending.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(second.LocalEndPoint, accepted.RemoteEndPoint);
        SocketTests.AssertExchange(second, accepted);

        // ...and a blocking Accept that has to wait: it must not fail with WouldBlock.
        Task<Socket> blocking = Task.Factory.StartNew(() => NoInheritSocket.Accept(listener), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        using Socket third = NewTcp();
        await third.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket acceptedBlocking = await blocking.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal(third.LocalEndPoint, acceptedBlocking.RemoteEndPoint);
        Assert.False(Inheritance.IsInheritable(acceptedBlocking.SafeHandle));
        SocketTests.AssertExchange(third, acceptedBlocking);
    }

    [Fact]
    public async Task AcceptAsync_ListenerDisposedWhileWaiting_FaultsInsteadOfHanging()
    {
        Socket listener = Listening();
        ValueTask<Socket> waiting = NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken);
        listener.Dispose();
        Exception error = await Assert.ThrowsAnyAsync<Exception>(
            async () => await waiting.AsTask().WaitAsync(HangGuard, TestContext.Current.CancellationToken));
        Assert.IsNotType<TimeoutException>(error);
    }

    /// <summary>
    /// AcceptAsync returns the runtime's accepted socket after checking it: one that came back inheritable (a Winsock
    /// provider that drops the flag; the systems here do not, so such a socket is made inheritable by hand) is made
    /// non-inheritable, and the capabilities stop reporting atomic accepts.
    /// </summary>
    [Fact]
    public void AcceptRepairs_MakeAnInheritableAcceptedSocketNonInheritable_AndReportIt()
    {
        var repairs = new AcceptRepairs();
        using (Socket fine = NewTcp())
        {
            Assert.Same(fine, repairs.Check(fine));
            Assert.False(repairs.Any);
            Assert.Equal(Interop.Capabilities(), Inheritance.CapabilitiesAfter(repairs));
        }

        using Socket broken = NewTcp();
        Inheritance.SetInheritable(broken.SafeHandle, true);
        Assert.True(Inheritance.IsInheritable(broken.SafeHandle));
        Assert.Same(broken, repairs.Check(broken));
        Assert.False(Inheritance.IsInheritable(broken.SafeHandle));
        Assert.True(repairs.Any);
        Assert.Equal(Interop.Capabilities() & ~NoInheritCapabilities.AcceptAtomic, Inheritance.CapabilitiesAfter(repairs));
    }

    [Fact]
    public void AcceptRepairs_ASocketThatCannotBeChecked_IsDisposed_AndTheErrorThrown()
    {
        var repairs = new AcceptRepairs();
        Socket closed = NewTcp();
        closed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => repairs.Check(closed));
        Assert.False(repairs.Any);
    }
}
