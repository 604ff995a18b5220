using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Injected faults through the managed API (Linux): a full file system during a copy, a peer that resets its connection
/// before it is accepted, and handles disposed by another thread while a call uses them, with the freed descriptor number
/// reused at once by a new file that the call must never touch. Not parallel with other tests: they count descriptors.
/// </summary>
[Collection(nameof(SealCollection))]
public class FaultTests
{
    private const string LinuxOnly = "fault injection uses Linux facilities (/proc/self/fd, tmpfs mounts, descriptor number reuse)";

    private static void SkipUnlessLinux() => Assert.SkipUnless(OperatingSystem.IsLinux(), LinuxOnly);

    /// <summary>The link targets of this process's socket descriptors, counted by target ("socket:[inode]").</summary>
    /// <summary>This process's sockets ("socket:[inode]"). Compared as sets: a socket another test left to the finalizer may
    /// close meanwhile, which a count would take for a change; a leak is a socket that is new.</summary>
    private static HashSet<string> Sockets() => Observe.OwnDescriptorTargets().Where(t => t.StartsWith("socket:", StringComparison.Ordinal)).ToHashSet();

    private static Socket Listening()
    {
        Socket listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        return listener;
    }

    /// <summary>Connects to <paramref name="listener"/> and resets the connection (linger 0, close) before anyone accepts it.</summary>
    private static void ConnectAndReset(Socket listener)
    {
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST
        Thread.Sleep(20);
    }

    /// <summary>What accepting a reset connection looks like: the accept's outcome, then the first receive's.</summary>
    private static string AcceptResetConnection(Socket listener, Func<Socket, Socket> accept)
    {
        ConnectAndReset(listener);
        Socket? accepted = null;
        string acceptOutcome = Outcome.Of(() => { accepted = accept(listener); });
        string receiveOutcome = accepted is null ? "-" : Outcome.Of(() => accepted.Receive(new byte[1]).ToString());
        string connected = accepted is null ? "-" : accepted.Connected.ToString();
        accepted?.Dispose();
        return $"accept: {acceptOutcome}; receive: {receiveOutcome}; connected after: {connected}";
    }

    [Fact]
    public async Task AcceptAfterPeerReset_BehavesAsSocketAccept_AndLeaksNothing()
    {
        SkipUnlessLinux();
        using Socket bclListener = Listening();
        using Socket ourListener = Listening();
        HashSet<string> before = Sockets();
        for (int round = 0; round < 5; round++)
        {
            string bcl = AcceptResetConnection(bclListener, l => l.Accept());
            Assert.Contains("ConnectionReset", bcl); // Linux hands out the reset connection; the receive sees the reset
            Outcome.AssertSame(bcl, AcceptResetConnection(ourListener, NoInheritSocket.Accept));
            Outcome.AssertSame(
                AcceptResetConnection(bclListener, l => l.AcceptAsync(TestContext.Current.CancellationToken).AsTask().GetAwaiter().GetResult()),
                AcceptResetConnection(ourListener, l => NoInheritSocket.AcceptAsync(l, TestContext.Current.CancellationToken).AsTask().GetAwaiter().GetResult()));
        }
        Assert.Empty(Sockets().Except(before)); // every socket the rounds made is closed
        // The listener still accepts.
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(ourListener.LocalEndPoint!, TestContext.Current.CancellationToken);
        using Socket accepted = NoInheritSocket.Accept(ourListener);
        Assert.True(accepted.Connected);
    }

    /// <summary>
    /// Opens files until one gets <paramref name="number"/> (the descriptor just freed; the kernel gives the lowest free number,
    /// so it is normally the first), returning them all; the caller disposes them.
    /// </summary>
    private static List<SafeFileHandle> ReuseNumber(nint number, TempDirectory dir, string name)
    {
        var opened = new List<SafeFileHandle>();
        for (int i = 0; i < 8; i++)
        {
            SafeFileHandle handle = NoInheritFile.OpenHandle(dir.Combine($"{name}-{i}"), FileMode.Create, FileAccess.ReadWrite);
            opened.Add(handle);
            if (handle.DangerousGetHandle() == number)
                break;
        }
        return opened;
    }

    [Fact]
    public void ListenerDisposedWhileAcceptBlocks_ThrowsObjectDisposed_AndNeverTouchesTheReusedNumber()
    {
        SkipUnlessLinux();
        using var dir = new TempDirectory();
        int reused = 0;
        for (int round = 0; round < 10; round++)
        {
            Socket listener = Listening();
            nint number = listener.SafeHandle.DangerousGetHandle();
            Exception? thrown = null;
            var acceptor = new Thread(() =>
            {
                try
                {
                    NoInheritSocket.Accept(listener).Dispose();
                }
                catch (Exception e)
                {
                    thrown = e;
                }
            });
            acceptor.Start();
            Thread.Sleep(50); // in accept4 by now, holding a reference on the handle
            listener.Dispose();
            List<SafeFileHandle> files = ReuseNumber(number, dir, $"r{round}");
            Assert.True(acceptor.Join(TimeSpan.FromSeconds(30)), "Accept did not return after the listener was disposed");
            Assert.IsType<ObjectDisposedException>(thrown);
            reused += files.Any(f => f.DangerousGetHandle() == number) ? 1 : 0;
            // The number now names a file; nothing was accepted on it, and it is still an ordinary, non-inheritable file.
            foreach (SafeFileHandle file in files)
            {
                Assert.False(Inheritance.IsInheritable(file));
                Assert.Equal(0, RandomAccess.GetLength(file));
                file.Dispose();
            }
        }
        Assert.True(reused > 0, "the listener's number was never reused: the test proved nothing");
    }

    /// <summary>
    /// A handle disposed while other threads call Inheritance.SetInheritable / NoInheritFile.Duplicate on it in a loop, and its
    /// number reused at once by a new file: the calls on the old handle either work on the old file or throw
    /// ObjectDisposedException, and never change or duplicate the new one.
    /// </summary>
    [Fact]
    public void HandleDisposedDuringCalls_NeverReachesTheFileThatReusesItsNumber()
    {
        SkipUnlessLinux();
        using var dir = new TempDirectory();
        int disposedSeen = 0, callsDone = 0, reused = 0;
        for (int round = 0; round < 100; round++)
        {
            string oldPath = dir.Combine($"old-{round}");
            SafeFileHandle old = NoInheritFile.OpenHandle(oldPath, FileMode.Create, FileAccess.ReadWrite);
            nint number = old.DangerousGetHandle();
            var wrongTargets = new List<string>();
            using var go = new Barrier(3);
            Exception? setterFailure = null, duplicatorFailure = null;
            var setter = new Thread(() =>
            {
                go.SignalAndWait(TestContext.Current.CancellationToken);
                try
                {
                    while (true)
                    {
                        Inheritance.SetInheritable(old, true);
                        Inheritance.SetInheritable(old, false);
                        Interlocked.Increment(ref callsDone);
                    }
                }
                catch (Exception e)
                {
                    setterFailure = e;
                }
            });
            var duplicator = new Thread(() =>
            {
                go.SignalAndWait(TestContext.Current.CancellationToken);
                try
                {
                    while (true)
                    {
                        using SafeFileHandle copy = NoInheritFile.Duplicate(old);
                        string target = ChildProcessProbe.TargetOf(copy);
                        if (target != oldPath)
                            lock (wrongTargets)
                                wrongTargets.Add(target);
                        Interlocked.Increment(ref callsDone);
                    }
                }
                catch (Exception e)
                {
                    duplicatorFailure = e;
                }
            });
            int callsBefore = Volatile.Read(ref callsDone);
            setter.Start();
            duplicator.Start();
            go.SignalAndWait(TestContext.Current.CancellationToken);
            // The calls must be under way when the handle goes (on a loaded machine the threads may not have run yet).
            SpinWait.SpinUntil(() => Volatile.Read(ref callsDone) > callsBefore, 5_000);
            Thread.SpinWait(2000 * (round % 10));
            old.Dispose();
            List<SafeFileHandle> files = ReuseNumber(number, dir, $"new-{round}");
            Assert.True(setter.Join(TimeSpan.FromSeconds(30)) && duplicator.Join(TimeSpan.FromSeconds(30)));
            Assert.IsType<ObjectDisposedException>(setterFailure);
            Assert.IsType<ObjectDisposedException>(duplicatorFailure);
            disposedSeen += 2;
            Assert.Empty(wrongTargets);
            reused += files.Any(f => f.DangerousGetHandle() == number) ? 1 : 0;
            foreach (SafeFileHandle file in files)
            {
                // SetInheritable(true) on a recycled number would have left the new file inheritable.
                Assert.False(Inheritance.IsInheritable(file), $"the file that reused descriptor {number} became inheritable");
                file.Dispose();
            }
        }
        Assert.True(callsDone > 0, "no call ran while the handles were alive: the race was never exercised");
        Assert.Equal(200, disposedSeen);
        Assert.True(reused > 0, "the disposed numbers were never reused by the new files: the test proved nothing");
    }

    /// <summary>
    /// ChildProcess.Start maps a handle that another thread disposes meanwhile, its number reused by a new file: the child
    /// gets the old file under the mapped number, or Start throws ObjectDisposedException; never the new file.
    /// </summary>
    [Fact]
    public void HandleDisposedWhileStartMapsIt_ChildNeverGetsTheFileThatReusesItsNumber()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        int started = 0, refused = 0, reused = 0;
        for (int round = 0; round < 30; round++)
        {
            string oldPath = dir.Combine($"old-{round}");
            SafeFileHandle old = NoInheritFile.OpenHandle(oldPath, FileMode.Create, FileAccess.ReadWrite);
            nint number = old.DangerousGetHandle();
            var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("readlink /proc/self/fd/9");
            string? childSaw = null;
            Exception? failure = null;
            using var go = new Barrier(2);
            var starter = new Thread(() =>
            {
                go.SignalAndWait(TestContext.Current.CancellationToken);
                try
                {
                    using ChildProcess child = ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [9] = old });
                    childSaw = child.StandardOutput.ReadToEnd().Trim();
                    child.WaitForExit();
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            starter.Start();
            go.SignalAndWait(TestContext.Current.CancellationToken);
            Thread.SpinWait(5000 * (round % 6));
            old.Dispose();
            List<SafeFileHandle> files = ReuseNumber(number, dir, $"new-{round}");
            Assert.True(starter.Join(TimeSpan.FromSeconds(30)));
            reused += files.Any(f => f.DangerousGetHandle() == number) ? 1 : 0;
            foreach (SafeFileHandle file in files)
                file.Dispose();
            if (failure is null)
            {
                Assert.Equal(oldPath, childSaw);
                started++;
            }
            else
            {
                Assert.IsType<ObjectDisposedException>(failure);
                refused++;
            }
        }
        Assert.Equal(30, started + refused);
        Assert.True(reused > 0, "the disposed numbers were never reused by the new files: the test proved nothing");
    }

    // ---- A full file system during a copy ----

    [DllImport("libc", EntryPoint = "mount", SetLastError = true)]
    private static extern int Mount(string source, string target, string type, ulong flags, string data);

    [DllImport("libc", EntryPoint = "umount2", SetLastError = true)]
    private static extern int Umount2(string target, int flags);

    /// <summary>A 1 MiB tmpfs mounted on a new directory (root only), unmounted on dispose.</summary>
    private sealed class SmallTmpfs : IDisposable
    {
        public string Path { get; }

        private SmallTmpfs(string path) => Path = path;

        public static SmallTmpfs? TryMount(TempDirectory dir)
        {
            string path = dir.Combine("small");
            Directory.CreateDirectory(path);
            return Mount("ni-test", path, "tmpfs", 0, "size=1m") == 0 ? new SmallTmpfs(path) : null;
        }

        public void Dispose() => Umount2(Path, 2 /* MNT_DETACH */);
    }

    /// <summary>
    /// NoInheritFile.Copy and CopyAsync onto a file system that fills up: an IOException with the platform's message, as
    /// File.Copy throws; the destination absent (or with its old content when overwriting); no temp file left.
    /// </summary>
    [Fact]
    public async Task CopyOntoFullFileSystem_ThrowsIOException_LeavesNothingPartial()
    {
        SkipUnlessLinux();
        using var dir = new TempDirectory();
        using SmallTmpfs? small = SmallTmpfs.TryMount(dir);
        Assert.SkipWhen(small is null, "mounting a small tmpfs needs root (CAP_SYS_ADMIN)");
        string source = dir.Combine("big");
        byte[] content = new byte[3 << 20];
        new Random(8).NextBytes(content);
        File.WriteAllBytes(source, content);
        string destination = System.IO.Path.Combine(small!.Path, "copy");

        string bcl = Outcome.Of(() => File.Copy(source, destination));
        if (File.Exists(destination))
            File.Delete(destination); // what File.Copy leaves behind is not ours to judge
        string ours = Outcome.Of(() => NoInheritFile.Copy(source, destination));
        Assert.StartsWith("threw System.IO.IOException: No space left on device", ours);
        Outcome.AssertSame(bcl, ours);
        Assert.Empty(Directory.EnumerateFileSystemEntries(small.Path));

        IOException async = await Assert.ThrowsAsync<IOException>(() => NoInheritFile.CopyAsync(source, destination,
            progress: new Progress<long>(), cancellationToken: TestContext.Current.CancellationToken));
        Assert.StartsWith("No space left on device", async.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(small.Path));

        File.WriteAllText(destination, "old");
        Assert.Throws<IOException>(() => NoInheritFile.Copy(source, destination, overwrite: true));
        await Assert.ThrowsAsync<IOException>(() => NoInheritFile.CopyAsync(source, destination, overwrite: true,
            cancellationToken: TestContext.Current.CancellationToken));
        Assert.Equal("old", File.ReadAllText(destination));
        Assert.Equal(["copy"], Directory.EnumerateFileSystemEntries(small.Path).Select(System.IO.Path.GetFileName));
        Observe.AssertNoDescriptorOn(small.Path);
        Observe.AssertNoDescriptorOn(source);
    }
}
