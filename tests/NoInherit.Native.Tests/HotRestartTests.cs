using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// HotRestart with real processes: the test process as the predecessor, the test program in its "successor" role
/// (<see cref="SocketActivationRoles"/>) as the successor. The restart of a server under load is the hotrestart stage's
/// (samples/HotRestart).
/// </summary>
public sealed class HotRestartTests
{
    /// <summary>StartSuccessorAsync returns once the successor has taken the listener and signalled; a connection made
    /// after that, on the socket both hold, is served by the successor.</summary>
    [Fact]
    public async Task StartSuccessorAsync_ReturnsWhenTheSuccessorIsReady()
    {
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the successor is the test program itself, which qemu-user cannot exec");
        using Socket listener = SocketActivationTests.Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        using ChildProcess successor = await HotRestart.StartSuccessorAsync(Self.WithRole("successor"), new List<ListenSocket> { new(listener, "http") },
            TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        Assert.Equal("sockets=1 variable=gone ready=True,False", successor.StandardOutput.ReadLine());
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var reader = new StreamReader(new NetworkStream(client), Encoding.ASCII);
        Assert.Equal(successor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), reader.ReadToEnd());
        Assert.True(successor.WaitForExit(30_000));
        Assert.Equal(0, successor.ExitCode);
        Assert.Null(Environment.GetEnvironmentVariable("NOINHERIT_READY")); // set on the successor's start info only
    }

    /// <summary>A successor that exits without signalling: InvalidOperationException, as soon as it is gone.</summary>
    [Fact]
    public async Task StartSuccessorAsync_SuccessorExitsBeforeReady()
    {
        using Socket listener = SocketActivationTests.Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<InvalidOperationException>(() => HotRestart.StartSuccessorAsync(ChildPrograms.Exit(0),
            new List<ListenSocket> { new(listener) }, TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), clock.Elapsed.ToString());
    }

    /// <summary>A successor that never signals: TimeoutException after the timeout, and it has been killed.</summary>
    [Fact]
    public async Task StartSuccessorAsync_TimesOutAndKills()
    {
        using Socket listener = SocketActivationTests.Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        var error = await Assert.ThrowsAsync<TimeoutException>(() => HotRestart.StartSuccessorAsync(ChildPrograms.SleeperStartInfo(),
            new List<ListenSocket> { new(listener) }, TimeSpan.FromMilliseconds(500), TestContext.Current.CancellationToken));
        int pid = int.Parse(error.Message.Split("process ")[1].Split(')')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ChildPrograms.GoneWithin(pid, 10_000), $"process {pid} is still running");
    }

    [Fact]
    public async Task StartSuccessorAsync_BadArguments()
    {
        await Assert.ThrowsAsync<ArgumentNullException>("startInfo", () => HotRestart.StartSuccessorAsync(null!, new List<ListenSocket>(), TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
        await Assert.ThrowsAsync<ArgumentException>("listeners", () => HotRestart.StartSuccessorAsync(ChildPrograms.Exit(0), new List<ListenSocket>(), TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
        Assert.False(HotRestart.SignalReady()); // no predecessor waits for the test process
    }
}
