using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The race the library exists for, through the managed API: threads create descriptors with every creator
/// while another thread starts children (Process.Start, as applications do) that report what they inherited.
/// Every descriptor's /proc target is recorded as a marker, so a leak is identified exactly. Ours must never
/// appear; the naive control (libc open/socket/pipe, then fcntl FD_CLOEXEC) must, or the test is blind.
/// NI_RACE_SECONDS sets how long the phase of our creators runs (default 2); with NI_RACE_SOAK=1 the control
/// runs exactly as long instead of stopping at its first leak, so that the two leak counts compare.
/// </summary>
[Collection(nameof(SealCollection))]
public partial class RaceTests
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(
        double.TryParse(Environment.GetEnvironmentVariable("NI_RACE_SECONDS"), out double seconds) && seconds > 0 ? seconds : 2);

    [Fact]
    public void OurCreatorsNeverLeakIntoConcurrentChildren_TheNaiveWayDoes()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();

        Result ours = RunPhase(dir, OurCreators(dir), Phase, stopAtFirstLeak: false);
        bool soak = Environment.GetEnvironmentVariable("NI_RACE_SOAK") is not null;
        Result naive = RunPhase(dir, NaiveCreators(dir), soak ? Phase : Phase * 10, stopAtFirstLeak: !soak);
        TestContext.Current.SendDiagnosticMessage(
            $"ours: {ours.Operations} operations, {ours.Children} children, {ours.Leaks.Count} leaks; " +
            $"naive: {naive.Operations} operations, {naive.Children} children, {naive.Leaks.Count} leaks");

        Assert.True(ours.Children > 0 && ours.Operations > 0, "the race did not run");
        Assert.True(ours.Leaks.Count == 0, $"our descriptors leaked into children: {string.Join(", ", ours.Leaks.Take(5))}");
        Assert.True(naive.Leaks.Count > 0,
            $"the naive control never leaked in {naive.Children} children: the race was not exercised, so the test proves nothing");
    }

    /// <summary>
    /// The reverse race, through ChildProcess: while it passes a handle to its children, another thread's Process.Start
    /// (on Windows CreateProcess with bInheritHandles=TRUE and no handle list) must never give its own children that
    /// handle. The control passes it the way an API does that makes it inheritable while starting the child (ni_spawn before
    /// its helper process): inheritable around the same ChildProcess.Start. That must leak in the same race, or the test is
    /// blind. (The control window must not be around a Process.Start: on Windows the runtime serialises Process.Start calls
    /// with a lock, which shrinks the window to the few instructions outside it, and then the control leaks only by luck.)
    /// </summary>
    [Fact]
    public void ProcessStartNeverGetsTheHandlesChildProcessPasses_TheInheritableWindowDoes()
    {
        ChildProcessProbe.SkipUnlessCanProbeHandles();
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle passed, out SafeFileHandle writeEnd);
        using (passed)
        using (writeEnd)
        {
            using (var writer = new FileStream(writeEnd, FileAccess.Write, 1, false))
            {
                writer.Write("passed to children"u8); // Windows: "pipe 18" in a child is this pipe
                writer.Flush();
            }
            var ours = PassingRace(passed, inheritableWindow: false, Phase);
            var control = PassingRace(passed, inheritableWindow: true, Phase * 10);
            TestContext.Current.SendDiagnosticMessage(
                $"ChildProcess: {ours.Spawns} spawns, {ours.Children} racing children, {ours.Leaks} leaks; " +
                $"inheritable window: {control.Spawns} spawns, {control.Children} racing children, {control.Leaks} leaks");
            Assert.True(ours.Spawns > 0 && ours.Children > 0, "the race did not run");
            Assert.True(ours.Leaks == 0, $"{ours.Leaks} of {ours.Children} children of Process.Start got the handle ChildProcess passed");
            Assert.True(control.Leaks > 0,
                $"the inheritable window never leaked into {control.Children} children: the race was not exercised, so the test proves nothing");
            Assert.False(Inheritance.IsInheritable(passed));
        }
    }

    /// <summary>A child that exits 0 at once.</summary>
    private static ProcessStartInfo Quick() => OperatingSystem.IsWindows()
        ? new ProcessStartInfo(ChildPrograms.Probe, "--exit 0") { UseShellExecute = false }
        : new ProcessStartInfo("/bin/true") { UseShellExecute = false };

    /// <summary>
    /// Starts children that get <paramref name="passed"/> until <paramref name="duration"/> is over (the control: until its
    /// first leak), while another thread starts probe children with Process.Start and counts those that hold it.
    /// </summary>
    private static (int Spawns, int Children, int Leaks) PassingRace(SafeFileHandle passed, bool inheritableWindow, TimeSpan duration)
    {
        int children = 0, leaks = 0, spawns = 0;
        using var stop = new CancellationTokenSource();
        Exception? racerFailure = null;
        var racer = new Thread(() =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    bool held = ChildProcessProbe.HeldByNewChild(passed)[0];
                    Interlocked.Increment(ref children);
                    if (held)
                        Interlocked.Increment(ref leaks);
                }
            }
            catch (Exception e)
            {
                racerFailure = e;
            }
        }) { IsBackground = true };
        racer.Start();
        var clock = Stopwatch.StartNew();
        try
        {
            while (clock.Elapsed < duration && racerFailure == null && !(inheritableWindow && Volatile.Read(ref leaks) > 0))
            {
                if (inheritableWindow)
                    Inheritance.SetInheritable(passed, true);
                ChildProcess c;
                try
                {
                    c = ChildProcess.Start(Quick(), new SafeHandle[] { passed });
                }
                finally
                {
                    if (inheritableWindow)
                        Inheritance.SetInheritable(passed, false);
                }
                using (c)
                    Assert.True(c.WaitForExit(30_000));
                spawns++;
            }
        }
        finally
        {
            stop.Cancel();
            racer.Join();
        }
        if (racerFailure != null)
            throw new InvalidOperationException("the racing thread failed", racerFailure);
        return (spawns, children, leaks);
    }

    private sealed record Result(long Operations, int Children, List<string> Leaks);

    /// <summary>A creator makes one descriptor (or pair), records the /proc targets it must never see in a child, and closes it.</summary>
    private delegate void Creator(ConcurrentDictionary<string, byte> markers);

    private static Result RunPhase(TempDirectory dir, Creator[] creators, TimeSpan duration, bool stopAtFirstLeak)
    {
        var markers = new ConcurrentDictionary<string, byte>();
        var listings = new List<HashSet<string>>();
        long operations = 0;
        using var stop = new CancellationTokenSource();
        var threads = creators.Select(creator => new Thread(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                creator(markers);
                Interlocked.Increment(ref operations);
            }
        }) { IsBackground = true }).ToList();
        threads.ForEach(t => t.Start());
        var clock = Stopwatch.StartNew();
        try
        {
            while (clock.Elapsed < duration)
            {
                listings.Add(ChildProcessProbe.TargetsHeldByNewChild());
                // A marker is recorded right after its creation, so a leak shows once the creator got there.
                if (stopAtFirstLeak && listings.Any(l => l.Any(markers.ContainsKey)))
                    break;
            }
        }
        finally
        {
            stop.Cancel();
            threads.ForEach(t => t.Join());
        }
        List<string> leaks = listings.SelectMany(l => l).Where(markers.ContainsKey).ToList();
        return new Result(operations, listings.Count, leaks);
    }

    private static string Mark(ConcurrentDictionary<string, byte> markers, int fd)
    {
        string target = ChildProcessProbe.TargetOf(fd);
        markers.TryAdd(target, 0);
        return target;
    }

    private static Creator[] OurCreators(TempDirectory dir)
    {
        string file = dir.Combine("ours-open"), source = dir.Combine("ours-copy-source"), copy = dir.Combine("ours-copy");
        File.WriteAllText(file, "race");
        File.WriteAllText(source, "race");
        var listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(512);
        var endpoint = (IPEndPoint)listener.LocalEndPoint!;
        SafeFileHandle original = NoInheritFile.OpenHandle(file);
        return
        [
            markers =>
            {
                markers.TryAdd(file, 0);
                using SafeFileHandle h = NoInheritFile.OpenHandle(file);
            },
            markers =>
            {
                using Socket s = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                Mark(markers, (int)s.SafeHandle.DangerousGetHandle());
            },
            markers =>
            {
                using Socket client = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                client.Connect(endpoint);
                using Socket accepted = NoInheritSocket.Accept(listener);
                Mark(markers, (int)accepted.SafeHandle.DangerousGetHandle());
            },
            markers =>
            {
                NoInheritFile.CreateAnonymousPipe(out SafeFileHandle r, out SafeFileHandle w);
                using (r)
                using (w)
                    Mark(markers, (int)r.DangerousGetHandle());
            },
            markers =>
            {
                using SafeFileHandle d = NoInheritFile.Duplicate(original);
                markers.TryAdd(file, 0);
            },
            markers =>
            {
                markers.TryAdd(source, 0);
                markers.TryAdd(copy, 0);
                NoInheritFile.Copy(source, copy, overwrite: true);
            },
        ];
    }

    private static Creator[] NaiveCreators(TempDirectory dir)
    {
        string file = dir.Combine("naive-open");
        File.WriteAllText(file, "race");
        return
        [
            markers =>
            {
                markers.TryAdd(file, 0);
                int fd = open(file, 0 /* O_RDONLY */);
                fcntl(fd, F_SETFD, FD_CLOEXEC);
                close(fd);
            },
            markers =>
            {
                int fd = socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
                fcntl(fd, F_SETFD, FD_CLOEXEC);
                Mark(markers, fd);
                close(fd);
            },
            markers =>
            {
                Span<int> fds = stackalloc int[2];
                pipe(ref fds[0]);
                fcntl(fds[0], F_SETFD, FD_CLOEXEC);
                fcntl(fds[1], F_SETFD, FD_CLOEXEC);
                Mark(markers, fds[0]);
                close(fds[0]);
                close(fds[1]);
            },
        ];
    }

    private const int F_SETFD = 2, FD_CLOEXEC = 1;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc")]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc")]
    private static partial int pipe(ref int fds);

    [LibraryImport("libc")]
    private static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
