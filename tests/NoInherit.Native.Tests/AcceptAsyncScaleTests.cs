using System;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Pending asynchronous accepts wait in the runtime's socket engine, not on threads of their own. Alone in its
/// collection, so that no other test starts or ends threads while this one counts them.
/// </summary>
[Collection(nameof(ThreadCountCollection))]
public class AcceptAsyncScaleTests
{
    private const int Pending = 1000;

    /// <summary>
    /// The runtime may start or retire a thread of its own while the accepts are made (thread-pool injection, a timer),
    /// so a few threads more or less are not the accepts' doing; one thread per pending accept would be 1,000.
    /// </summary>
    private const int Slack = 4;

    private static int ThreadCount()
    {
        using Process self = Process.GetCurrentProcess();
        return self.Threads.Count;
    }

    [Fact]
    public async Task AThousandPendingAcceptAsync_AddNoThread_AndAllCancel()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        // One accept first, so that the runtime's socket engine (and its thread) exists before the count.
        using (var first = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            ValueTask<Socket> accepting = NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken);
            await first.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
            using Socket accepted = await accepting.AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }

        int before = ThreadCount();
        using var cancellation = new CancellationTokenSource();
        Task<Socket>[] pending = Enumerable.Range(0, Pending)
            .Select(_ => NoInheritSocket.AcceptAsync(listener, cancellation.Token).AsTask()).ToArray();
        int during = ThreadCount();
        Assert.All(pending, task => Assert.False(task.IsCompleted));
        TestContext.Current.TestOutputHelper?.WriteLine($"threads before: {before}, with {Pending} accepts pending: {during}");
        Assert.True(during - before <= Slack, $"{Pending} pending accepts added {during - before} threads ({before} -> {during})");

        cancellation.Cancel();
        foreach (Task<Socket> task in pending)
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));

        // None of them took a connection: the next accept gets it.
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        ValueTask<Socket> next = NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken);
        await client.ConnectAsync(listener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket nextAccepted = await next.AsTask().WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal(client.LocalEndPoint, nextAccepted.RemoteEndPoint);
    }
}

[CollectionDefinition(nameof(ThreadCountCollection), DisableParallelization = true)]
public sealed class ThreadCountCollection;
