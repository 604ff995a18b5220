using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.IO.Pipes;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The test executable doubles as a child for ChildProcessTests: with NI_CHILD_ROLE=accept3 it accepts one
/// connection on descriptor 3, sends "accepted" and exits, before any test code runs.
/// </summary>
internal static class ChildRole
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "the child role must run before the test runner")]
    internal static void Run()
    {
        string? role = Environment.GetEnvironmentVariable("NI_CHILD_ROLE");
        if (role == "sigchld-ignored")
            ReportExitsWithSigchldIgnored();
        if (role != "accept3")
            return;
        using var listener = new Socket(new SafeSocketHandle(3, ownsHandle: true));
        using Socket connection = listener.Accept();
        connection.Send("accepted"u8);
        connection.Shutdown(SocketShutdown.Both);
        Environment.Exit(0);
    }

    /// <summary>
    /// Started with SIGCHLD ignored: the runtime then installs no SIGCHLD handler, and the kernel collects every child
    /// itself. Prints whether SIGCHLD is ignored here, then what HasExited (polled), WaitForExit and WaitForExitAsync
    /// make of children that exit 7 after a moment, 10 each at once: "7", or each distinct other outcome (the error
    /// number when the exit status is gone).
    /// </summary>
    private static void ReportExitsWithSigchldIgnored()
    {
        string ignored = File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        bool sigchldIgnored = (Convert.ToUInt64(ignored["SigIgn:".Length..].Trim(), 16) & (1UL << (17 - 1))) != 0;
        var exits7 = new ProcessStartInfo("/bin/sh", "-c \"sleep 0.2; exit 7\"");
        ChildProcess[] polled = Enumerable.Range(0, 10).Select(_ => ChildProcess.Start(exits7)).ToArray();
        ChildProcess[] waited = Enumerable.Range(0, 10).Select(_ => ChildProcess.Start(exits7)).ToArray();
        ChildProcess[] awaited = Enumerable.Range(0, 10).Select(_ => ChildProcess.Start(exits7)).ToArray();
        var clock = Stopwatch.StartNew();
        while (!polled.All(c => c.HasExited) && clock.Elapsed < TimeSpan.FromSeconds(30))
            Thread.Sleep(10);
        Task<bool>[] waits = waited.Select(c => Task.Run(() =>
        {
            try
            {
                return c.WaitForExit(30_000);
            }
            catch (Win32Exception)
            {
                return true; // exited; the error is the outcome ExitCode reports
            }
        })).ToArray();
        Task<bool>[] awaits = awaited.Select(c => c.WaitForExitAsync().ContinueWith(t => t.IsCompletedSuccessfully || t.IsFaulted)).ToArray();
        Task.WaitAll([.. waits, .. awaits], 60_000);
        Console.Out.Write($"SIGCHLD ignored: {sigchldIgnored}; HasExited: {Outcomes(polled, polled.Select(c => c.HasExited))}; " +
                          $"WaitForExit: {Outcomes(waited, waits.Select(t => t.IsCompleted && t.Result))}; " +
                          $"WaitForExitAsync: {Outcomes(awaited, awaits.Select(t => t.IsCompleted && t.Result))}");
        Console.Out.Flush();
        Environment.Exit(0);

        static string Outcomes(ChildProcess[] children, IEnumerable<bool> exited) =>
            string.Join(", ", children.Zip(exited, Outcome).Distinct());

        static string Outcome(ChildProcess child, bool exited)
        {
            if (!exited)
                return "not exited";
            try
            {
                return child.ExitCode.ToString();
            }
            catch (Win32Exception e)
            {
                return $"error {e.NativeErrorCode}";
            }
        }
    }
}

/// <summary>
/// ChildProcess on Linux (the child is /bin/sh, which lists its own /proc/$$/fd) and on Windows (the child is
/// ni_handleprobe.exe, beside the tests, which says what it holds under given handle values and doubles as the small
/// program the other tests need: --args, --exit, --wait, --report, --accept).
/// </summary>
public partial class ChildProcessTests
{
    // Prints "<fd> <target>" for every descriptor the shell holds, then END.
    private const string ListScript = "for f in /proc/$$/fd/*; do printf '%s ' \"${f##*/}\"; readlink \"$f\" || echo '?'; done; echo END";
    private const string EchoArgs = "for a; do printf '[%s]' \"$a\"; done";

    private static bool Windows => OperatingSystem.IsWindows();

    private static void Supported() => Assert.SkipUnless(ChildProcessProbe.IsSupported || Windows,
        "ChildProcess's tests need Linux (/bin/sh, /proc/<pid>/fd) or Windows (ni_handleprobe.exe)");

    private static void LinuxOnly(string why) => Assert.SkipUnless(ChildProcessProbe.IsSupported, why);

    private static string Probe => ChildPrograms.Probe;

    private static ProcessStartInfo Shell(string script, params string[] args)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add("sh");
        foreach (string a in args)
            start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>A child that prints its arguments as "[a][b]...", with stdout redirected.</summary>
    private static ProcessStartInfo ArgsEcho(params string[] args)
    {
        if (!Windows)
            return Shell(EchoArgs, args);
        var start = new ProcessStartInfo(Probe) { RedirectStandardOutput = true, StandardOutputEncoding = Encoding.UTF8 };
        start.ArgumentList.Add("--args");
        foreach (string a in args)
            start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>A child that exits with <paramref name="code"/> at once.</summary>
    private static ProcessStartInfo ExitWith(int code) => Windows
        ? new ProcessStartInfo(Probe, $"--exit {code}") { UseShellExecute = false }
        : new ProcessStartInfo("/bin/sh", $"-c \"exit {code}\"") { UseShellExecute = false };

    /// <summary>A child that runs until it is killed (or, on Windows, its redirected stdin ends).</summary>
    private static ProcessStartInfo Waiter() => Windows
        ? new ProcessStartInfo(Probe, "--wait") { RedirectStandardInput = true, UseShellExecute = false }
        : new ProcessStartInfo("/bin/sleep", "30") { RedirectStandardInput = true, UseShellExecute = false };

    private static Dictionary<int, string> ParseListing(string stdout)
    {
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length > 0 && lines[^1] == "END", $"listing incomplete: {stdout}");
        var result = new Dictionary<int, string>();
        foreach (string line in lines[..^1])
        {
            int space = line.IndexOf(' ');
            string target = line[(space + 1)..];
            if (target != "?") // the directory the shell's glob read, closed by the time readlink looks
                result[int.Parse(line.AsSpan(0, space))] = target;
        }
        return result;
    }

    private static Dictionary<int, string> ListChild(IReadOnlyDictionary<int, SafeHandle>? byNumber, IReadOnlyList<SafeHandle>? list = null)
    {
        ProcessStartInfo start = Shell(ListScript);
        using ChildProcess child = byNumber != null ? ChildProcess.Start(start, byNumber) : ChildProcess.Start(start, list);
        string stdout = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(30_000));
        Assert.Equal(0, child.ExitCode);
        return ParseListing(stdout);
    }

    /// <summary>
    /// Windows: starts the probe through ChildProcess, asking it about <paramref name="asked"/> (their values in this
    /// process; those of passed handles are rewritten to the child's on its command line), and returns its lines in order:
    /// the value as the child got it and what it holds there.
    /// </summary>
    private static List<(string Value, string Description)> ProbeChild(SafeHandle[] asked, IReadOnlyDictionary<int, SafeHandle>? byNumber,
        IReadOnlyList<SafeHandle>? list)
    {
        var start = new ProcessStartInfo(Probe) { RedirectStandardOutput = true };
        foreach (SafeHandle h in asked)
            start.ArgumentList.Add($"0x{h.DangerousGetHandle():x}");
        using ChildProcess child = byNumber != null ? ChildProcess.Start(start, byNumber) : ChildProcess.Start(start, list);
        string stdout = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(30_000));
        Assert.Equal(0, child.ExitCode);
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == asked.Length, $"the probe answered {lines.Length} of {asked.Length}: {stdout}");
        return lines.Select(l => (l[..l.IndexOf(' ')], l[(l.IndexOf(' ') + 1)..])).ToList();
    }

    /// <summary>The standard streams this process has open: what the child gets besides the listed handles.</summary>
    private static HashSet<int> OpenStdio()
    {
        var open = new HashSet<int>();
        foreach (int fd in new[] { 0, 2 })
        {
            if (File.Exists($"/proc/self/fd/{fd}") || Directory.Exists($"/proc/self/fd/{fd}") || new FileInfo($"/proc/self/fd/{fd}").LinkTarget != null)
                open.Add(fd);
        }
        open.Add(1); // redirected: always there
        return open;
    }

    [Fact]
    public async Task ChildHoldsExactlyStdioAndTheListedHandles_WhileOtherThreadsCallProcessStart()
    {
        Supported();
        using var dir = new TempDirectory();
        // Inheritable on purpose and not listed: a FileShare.Inheritable file, a socket made inheritable, an inheritable pipe.
        using SafeFileHandle leakyFile = File.OpenHandle(Path.Combine(dir.FullPath, "leaky"), FileMode.Create, FileAccess.ReadWrite, FileShare.Inheritable | FileShare.Read);
        using var leakySocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        leakySocket.Bind(new IPEndPoint(IPAddress.Loopback, 0)); // a local address: Windows' probe tells sockets by it
        Inheritance.SetInheritable(leakySocket.SafeHandle, true);
        using var leakyPipe = new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.Inheritable);
        SafeHandle[] leaky = { leakyFile, leakySocket.SafeHandle, leakyPipe.ClientSafePipeHandle };
        Assert.All(leaky, h => Assert.True(Inheritance.IsInheritable(h)));
        // Control: Process.Start's child does get them.
        Assert.All(ChildProcessProbe.HeldByNewChild(leaky), Assert.True);

        // Listed: a pipe end (fd 3 on Linux) and a bound socket under its own number.
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle listedRead, out SafeFileHandle listedWrite);
        using Socket listedSocket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listedSocket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        int socketNumber = (int)listedSocket.SafeHandle.DangerousGetHandle();
        using (listedRead)
        using (listedWrite)
        {
            using (var writer = new FileStream(listedWrite, FileAccess.Write, 1, false))
            {
                writer.Write("listed"u8); // Windows: "pipe 6" in the child is this pipe
                writer.Flush();
            }
            string[] leakyTargets = leaky.Select(ChildProcessProbe.TargetOf).ToArray();
            string pipeTarget = ChildProcessProbe.TargetOf(listedRead), socketTarget = ChildProcessProbe.TargetOf(listedSocket.SafeHandle);
            using var stop = new CancellationTokenSource();
            Task[] starters = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using Process p = Process.Start(ExitWith(0))!;
                    p.WaitForExit();
                }
            }, TestContext.Current.CancellationToken)).ToArray();
            try
            {
                for (int round = 0; round < 10; round++)
                {
                    if (Windows)
                    {
                        // Windows cannot choose a value in another process: both overloads pass the handles by value, and
                        // the probe's arguments naming them are rewritten to the values the child got.
                        var byValue = new Dictionary<int, SafeHandle> { [(int)listedRead.DangerousGetHandle()] = listedRead, [socketNumber] = listedSocket.SafeHandle };
                        SafeHandle[] listed = { listedRead, listedSocket.SafeHandle };
                        var held = ProbeChild(listed.Concat(leaky).ToArray(), round % 2 == 0 ? byValue : null, round % 2 == 0 ? null : listed);
                        string report = string.Join("; ", held.Select(h => $"{h.Value} {h.Description}"));
                        Assert.True(held[0].Description == pipeTarget, $"round {round}: the child lacks the listed pipe ({pipeTarget}): {report}");
                        Assert.True(held[1].Description == socketTarget, $"round {round}: the child lacks the listed socket ({socketTarget}): {report}");
                        for (int i = 0; i < leaky.Length; i++)
                        {
                            Assert.Equal($"0x{leaky[i].DangerousGetHandle():x}", held[2 + i].Value); // not passed: not rewritten
                            Assert.True(held[2 + i].Description != leakyTargets[i], $"round {round}: the child inherited {leakyTargets[i]}: {report}");
                        }
                    }
                    else
                    {
                        Dictionary<int, string> held = round % 2 == 0
                            ? ListChild(new Dictionary<int, SafeHandle> { [3] = listedRead, [socketNumber] = listedSocket.SafeHandle })
                            : ListChild(null, new SafeHandle[] { listedRead, listedSocket.SafeHandle });
                        int pipeNumber = round % 2 == 0 ? 3 : (int)listedRead.DangerousGetHandle();
                        var expected = OpenStdio();
                        expected.Add(pipeNumber);
                        expected.Add(socketNumber);
                        string listing = string.Join(", ", held.OrderBy(p => p.Key).Select(p => $"{p.Key}->{p.Value}"));
                        Assert.True(expected.SetEquals(held.Keys), $"round {round}: expected fds {string.Join(",", expected.Order())}; the child holds {listing}");
                        Assert.Equal(pipeTarget, held[pipeNumber]);
                        Assert.Equal(socketTarget, held[socketNumber]);
                        foreach (string target in leakyTargets)
                            Assert.DoesNotContain(target, held.Values);
                    }
                }
            }
            finally
            {
                stop.Cancel();
                await Task.WhenAll(starters);
            }
            // Listing a handle does not make it inheritable here.
            Assert.False(Inheritance.IsInheritable(listedRead));
            Assert.False(Inheritance.IsInheritable(listedSocket.SafeHandle));
        }
    }

    [Fact]
    public void ListeningSocketPassedToTheChildIsAcceptedOn()
    {
        Supported();
        using Socket listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        ChildProcess child;
        if (Windows)
        {
            // Passed by value; the argument naming it becomes the child's value.
            var start = new ProcessStartInfo(Probe) { ArgumentList = { "--accept", listener.SafeHandle.DangerousGetHandle().ToString() } };
            child = ChildProcess.Start(start, new SafeHandle[] { listener.SafeHandle });
        }
        else
        {
            // The child is this test executable itself: under qemu-user without binfmt_misc the kernel cannot exec it.
            Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture,
                "qemu-user (no binfmt_misc handler) cannot exec a binary of the emulated architecture, and this test's child is the test executable itself");
            ProcessStartInfo start = Self.WithRole("accept3");
            start.RedirectStandardOutput = start.RedirectStandardError = false;
            child = ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [3] = listener.SafeHandle });
        }
        using (child)
        {
            using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(listener.LocalEndPoint!);
            client.ReceiveTimeout = 30_000;
            var buffer = new byte[64];
            int total = 0, n;
            while ((n = client.Receive(buffer, total, buffer.Length - total, SocketFlags.None)) > 0)
                total += n;
            Assert.Equal("accepted", System.Text.Encoding.ASCII.GetString(buffer, 0, total));
            Assert.True(child.WaitForExit(30_000));
            Assert.Equal(0, child.ExitCode);
        }
    }

    [Fact]
    public async Task RedirectedStdoutReachesEofWhenTheChildExits_WhileASiblingRuns()
    {
        Supported();
        using ChildProcess first = ChildProcess.Start(ArgsEcho("done"));
        // Siblings started meanwhile, ours and Process.Start's, both still running.
        using ChildProcess sibling = ChildProcess.Start(Waiter());
        using Process bclSibling = Process.Start(Waiter())!;
        try
        {
            // A TimeoutException here means a sibling (or the helper process, on Windows) holds the pipe: the classic hang.
            string text = await first.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken)
                .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.Equal("[done]", text);
            Assert.False(sibling.HasExited);
            Assert.False(bclSibling.HasExited);
        }
        finally
        {
            sibling.Kill();
            bclSibling.Kill();
            bclSibling.WaitForExit();
        }
        Assert.True(sibling.WaitForExit(10_000));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void MissingProgramThrowsWin32ExceptionLikeProcessStart(bool inMissingDirectory)
    {
        Supported();
        string fileName = inMissingDirectory
            ? (Windows ? @"C:\nonexistent-dir\program.exe" : "/nonexistent-dir/program")
            : "no-such-program-noinherit-test";
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false };
        Win32Exception bcl = Assert.Throws<Win32Exception>(() => Process.Start(start));
        Win32Exception ours = Assert.Throws<Win32Exception>(() => ChildProcess.Start(start));
        Assert.Equal(bcl.NativeErrorCode, ours.NativeErrorCode);
        Assert.Equal(bcl.Message, ours.Message);
    }

    [Fact]
    public void NotExecutableAndBadWorkingDirectoryThrowWin32Exception()
    {
        Supported();
        using var dir = new TempDirectory();
        string plain = Path.Combine(dir.FullPath, Windows ? "plain.exe" : "plain.sh");
        // Linux: a script without execute permission. Windows: no executable image, whatever its name (and no "#!"
        // line, which wine would run as a Unix script).
        File.WriteAllText(plain, Windows ? "not a program\r\n" : "#!/bin/sh\nexit 0\n");
        var start = new ProcessStartInfo(plain);
        Win32Exception bcl = Assert.Throws<Win32Exception>(() => Process.Start(start));
        Win32Exception ours = Assert.Throws<Win32Exception>(() => ChildProcess.Start(start));
        Assert.Equal(bcl.NativeErrorCode, ours.NativeErrorCode);

        ProcessStartInfo badCwd = ExitWith(0);
        badCwd.WorkingDirectory = Path.Combine(dir.FullPath, "missing");
        Win32Exception bclCwd = Assert.Throws<Win32Exception>(() => Process.Start(badCwd));
        Win32Exception oursCwd = Assert.Throws<Win32Exception>(() => ChildProcess.Start(badCwd));
        Assert.Equal(bclCwd.NativeErrorCode, oursCwd.NativeErrorCode);
    }

    private static string Output(ChildProcess child)
    {
        string text = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(30_000));
        return text;
    }

    private static string Output(Process process)
    {
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return text;
    }

    [Fact]
    public void ArgumentListRoundTrips()
    {
        Supported();
        string[] args = { "a b", "", "q\"uote", "back\\slash\\", "\\\"", "  ", "tab\there", "'single'", "*", "$HOME", "%PATH%", "ünï", "x\\\\\"y", "trail\\\\" };
        ProcessStartInfo start = ArgsEcho(args);
        using ChildProcess child = ChildProcess.Start(start);
        string expected = string.Concat(args.Select(a => $"[{a}]"));
        Assert.Equal(expected, Output(child));
        Assert.Equal(0, child.ExitCode);
        using Process bcl = Process.Start(start)!;
        Assert.Equal(expected, Output(bcl));
    }

    [Theory]
    [InlineData("a b c")]
    [InlineData("\"a b\" c")]
    [InlineData("\"\" x \"\"")]
    [InlineData("a\\\\\"b c\" d")]
    [InlineData("a\\\"b \\\\x \"q\"\"q\"")]
    [InlineData("  lead   trail\t")]
    public void ArgumentsStringIsSplitAsProcessStartSplitsIt(string arguments)
    {
        Supported();
        var start = Windows
            ? new ProcessStartInfo(Probe, "--args " + arguments)
            : new ProcessStartInfo("/bin/sh", "-c \"" + EchoArgs.Replace("\"", "\\\"") + "\" sh " + arguments);
        start.RedirectStandardOutput = true;
        start.UseShellExecute = false;
        using Process bcl = Process.Start(start)!;
        using ChildProcess ours = ChildProcess.Start(start);
        Assert.Equal(Output(bcl), Output(ours));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(255)]
    public void ExitCodesMatchProcess(int expected)
    {
        Supported();
        ProcessStartInfo start = ExitWith(expected);
        using ChildProcess ours = ChildProcess.Start(start);
        using Process bcl = Process.Start(start)!;
        Assert.True(ours.WaitForExit(30_000));
        bcl.WaitForExit();
        Assert.True(ours.HasExited);
        Assert.Equal(expected, ours.ExitCode);
        Assert.Equal(bcl.ExitCode, ours.ExitCode);
    }

    [Theory]
    [InlineData("kill -TERM $$", 128 + 15)]
    [InlineData("kill -KILL $$", 128 + 9)]
    public void DeathBySignalMatchesProcess(string script, int expected)
    {
        LinuxOnly("Windows has no signals: a process there ends with an exit code (TerminateProcess's is tested by WaitTimeoutKillAndCancellation)");
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using ChildProcess ours = ChildProcess.Start(start);
        using Process bcl = Process.Start(start)!;
        Assert.True(ours.WaitForExit(30_000));
        bcl.WaitForExit();
        Assert.Equal(expected, ours.ExitCode);
        Assert.Equal(bcl.ExitCode, ours.ExitCode);
    }

    [Fact]
    public async Task ExitCodesStayCorrectWhileProcessChildrenRunAlongside()
    {
        Supported();
        var ours = new List<(ChildProcess Child, int Code)>();
        var theirs = new List<(Process Child, int Code)>();
        for (int i = 0; i < 20; i++)
        {
            int code = i * 13 % 256;
            ProcessStartInfo start = ExitWith(code);
            if (!Windows)
                start.Arguments = $"-c \"sleep 0.0{i % 10}; exit {code}\"";
            ours.Add((ChildProcess.Start(start), code));
            theirs.Add((Process.Start(start)!, code));
        }
        foreach ((ChildProcess child, int code) in ours)
        {
            using (child)
            {
                using var timeout = new CancellationTokenSource(30_000);
                await child.WaitForExitAsync(timeout.Token);
                Assert.Equal(code, child.ExitCode);
            }
        }
        foreach ((Process child, int code) in theirs)
        {
            using (child)
            {
                await child.WaitForExitAsync(TestContext.Current.CancellationToken);
                Assert.Equal(code, child.ExitCode);
            }
        }
    }

    /// <summary>
    /// Other code collects our child before we do, as the runtime does with every child when it runs as pid 1 (a
    /// container without an init) or with SIGCHLD ignored: the exit code still comes out right, read from the pidfd
    /// (Linux 6.15 keeps the status there). Here the other code is a thread blocked in waitpid on the child's pid.
    /// </summary>
    [Fact]
    public async Task ExitCodeSurvivesOtherCodeCollectingTheChild()
    {
        LinuxOnly("collecting another's child with waitpid is POSIX");
        Assert.SkipUnless(KernelKeepsExitStatusInPidfd(),
            "this kernel keeps no exit status in a pidfd (before Linux 6.15, or an emulator that does not pass PIDFD_GET_INFO on)");
        int stolen = 0;
        for (int round = 0; round < 10 && stolen < 3; round++)
        {
            using ChildProcess child = ChildProcess.Start(new ProcessStartInfo("/bin/sh", "-c \"read line; exit 42\"") { RedirectStandardInput = true });
            int collected = 0, status = 0;
            var thief = new Thread(() => collected = waitpid(child.Id, out status, 0));
            thief.Start();
            Thread.Sleep(50); // blocked in waitpid by now: the kernel wakes it at the exit, before our SIGCHLD handler runs
            child.StandardInput.Close();
            Assert.True(thief.Join(30_000), "the other code's waitpid did not return");
            Assert.True(child.WaitForExit(30_000));
            await child.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.True(child.HasExited);
            Assert.Equal(42, child.ExitCode);
            if (collected == child.Id)
            {
                Assert.Equal(42, (status >> 8) & 0xff);
                stolen++;
            }
        }
        Assert.True(stolen > 0, "we collected the child first every time: the case was never exercised");
    }

    /// <summary>
    /// A process that starts with SIGCHLD ignored (its parent set it; it survives exec) gets no SIGCHLD: the runtime
    /// respects the disposition and installs no handler, and the kernel collects each child at its exit. HasExited,
    /// WaitForExit and WaitForExitAsync still see the exit (Process's do not: they wait forever); the exit code comes
    /// from the pidfd where the kernel keeps it there, else the error says it is gone (ECHILD), never a wrong code.
    /// </summary>
    [Fact]
    public async Task ExitIsNoticedInAProcessThatIgnoresSigchld()
    {
        LinuxOnly("SIGCHLD is POSIX");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture,
            "qemu-user (no binfmt_misc handler) cannot exec a binary of the emulated architecture, and this test's child is the test executable itself");
        // bash's trap '' sets SIG_IGN, which exec keeps (dash's does not pass it on).
        Assert.SkipUnless(File.Exists("/bin/bash"), "no /bin/bash here to start a child with SIGCHLD ignored");
        var start = new ProcessStartInfo("/bin/bash") { RedirectStandardOutput = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("trap '' CHLD; exec \"$0\" \"$@\"");
        foreach (string part in Self.Command)
            start.ArgumentList.Add(part);
        start.Environment["NI_CHILD_ROLE"] = "sigchld-ignored";
        using ChildProcess child = ChildProcess.Start(start);
        Task<string> output = child.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        Assert.True(child.WaitForExit(120_000), "the child did not exit");
        string code = KernelKeepsExitStatusInPidfd() ? "7" : "error 10"; // ECHILD
        Assert.Equal($"SIGCHLD ignored: True; HasExited: {code}; WaitForExit: {code}; WaitForExitAsync: {code}", await output);
        Assert.Equal(0, child.ExitCode);
    }

    /// <summary>
    /// Asks the kernel directly (not through the library) whether a pidfd keeps the wait status of a child collected by
    /// someone else: a Process child, collected by Process.WaitForExit, then PIDFD_GET_INFO with PIDFD_INFO_EXIT.
    /// </summary>
    private static unsafe bool KernelKeepsExitStatusInPidfd()
    {
        using Process child = Process.Start(new ProcessStartInfo("/bin/sh", "-c \"read line; exit 5\"") { RedirectStandardInput = true })!;
        int pidfd = (int)syscall(434 /* pidfd_open */, child.Id, 0);
        child.StandardInput.Close();
        child.WaitForExit();
        if (pidfd < 0)
            return false;
        try
        {
            PidfdInfo info = default;
            info.Mask = PidfdInfoExit;
            return ioctl(pidfd, PidfdGetInfo, &info) == 0 && (info.Mask & PidfdInfoExit) != 0 && (info.ExitCode >> 8 & 0xff) == 5;
        }
        finally
        {
            close(pidfd);
        }
    }

    // The kernel's struct pidfd_info (72 bytes): mask, cgroupid, eleven ids, then exit_code.
    [StructLayout(LayoutKind.Explicit, Size = 72)]
    private struct PidfdInfo
    {
        [FieldOffset(0)] public ulong Mask;
        [FieldOffset(60)] public int ExitCode;
    }

    private const ulong PidfdInfoExit = 1UL << 3;
    private const nuint PidfdGetInfo = 0xC048FF0B; // _IOWR(0xFF, 11, struct pidfd_info)

    [LibraryImport("libc", SetLastError = true)]
    private static partial int waitpid(int pid, out int status, int options);

    [LibraryImport("libc")]
    private static partial long syscall(long number, int pid, int flags);

    [LibraryImport("libc")]
    private static unsafe partial int ioctl(int fd, nuint request, PidfdInfo* info);

    [LibraryImport("libc")]
    private static partial int close(int fd);

    [Fact]
    public void ExitIsCollectedWithoutAnyoneWaiting_EvenAfterDispose()
    {
        Supported();
        // Nobody calls WaitForExit: the exit must still be noticed (HasExited, ExitCode) and, on Linux, the child
        // reaped rather than left a zombie, also when the ChildProcess was disposed while the child still ran.
        using ChildProcess watched = ChildProcess.Start(ExitWith(7));
        ChildProcess disposed = ChildProcess.Start(Windows ? ExitWith(0) : new ProcessStartInfo("/bin/sh", "-c \"sleep 0.3\"") { UseShellExecute = false });
        int disposedId = disposed.Id;
        disposed.Dispose(); // still running
        var deadline = Stopwatch.StartNew();
        while (!watched.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(30))
            Thread.Sleep(10);
        Assert.True(watched.HasExited);
        Assert.Equal(7, watched.ExitCode);
        if (!Windows)
        {
            // A pid stays in /proc, as a zombie once it has exited, until its parent collects it.
            while ((Directory.Exists($"/proc/{watched.Id}") || Directory.Exists($"/proc/{disposedId}")) && deadline.Elapsed < TimeSpan.FromSeconds(30))
                Thread.Sleep(10);
            Assert.False(Directory.Exists($"/proc/{watched.Id}"), $"child {watched.Id} was not reaped");
            Assert.False(Directory.Exists($"/proc/{disposedId}"), $"disposed child {disposedId} was not reaped");
        }
    }

    [Fact]
    public void DisposeWhileAnotherThreadWaits_TheWaitEndsAtTheExit_AndTheHandleIsReleased()
    {
        Supported();
        // WaitForExit blocks on the process handle (the pidfd on Linux). Dispose meanwhile must neither close it under
        // the waiter (which would then wait on whatever reuses the number) nor leave it open: the last one out closes it.
        // The child ends when its stdin does, and Dispose closes it: it cannot end before the test is ready, however
        // slow the machine (a child that slept a fixed time could, under an emulator on a busy machine).
        ChildProcess child = ChildProcess.Start(Windows
            ? Waiter()
            : new ProcessStartInfo("/bin/sh", "-c \"read line; exit 3\"") { RedirectStandardInput = true, UseShellExecute = false });
        int pidfds = Windows ? 0 : PidfdsOf(child.Id);
        bool exited = false;
        var waiting = new Thread(() => exited = child.WaitForExit(30_000));
        waiting.Start();
        Thread.Sleep(200);
        Assert.True(waiting.IsAlive, "the wait ended before the child did");
        child.Dispose();
        Assert.True(waiting.Join(30_000) && exited, "the wait did not end at the exit");
        Assert.True(child.HasExited);
        Assert.Equal(Windows ? 0 : 3, child.ExitCode);
        if (!Windows)
        {
            Assert.True(pidfds <= 1, $"{pidfds} pidfds on one child");
            Assert.Equal(0, PidfdsOf(child.Id)); // 1 before (on kernels with pidfds), 0 now
        }
    }

    /// <summary>This process's pidfds on <paramref name="pid"/> (its fdinfo names the pid).</summary>
    private static int PidfdsOf(int pid)
    {
        int count = 0;
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget == "anon_inode:[pidfd]" &&
                    File.ReadAllLines($"/proc/self/fdinfo/{Path.GetFileName(entry)}").Contains($"Pid:\t{pid}"))
                    count++;
            }
            catch (IOException)
            {
                // closed meanwhile: not one of ours that is still open
            }
        }
        return count;
    }

    [Fact]
    public async Task WaitTimeoutKillAndCancellation()
    {
        Supported();
        using ChildProcess child = ChildProcess.Start(Waiter());
        Assert.True(child.Id > 0);
        Assert.False(child.HasExited);
        Assert.Throws<InvalidOperationException>(() => child.ExitCode);
        var watch = Stopwatch.StartNew();
        Assert.False(child.WaitForExit(200));
        Assert.InRange(watch.ElapsedMilliseconds, 150, 10_000);
        using var cancel = new CancellationTokenSource(100);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => child.WaitForExitAsync(cancel.Token));
        Assert.False(child.HasExited);
        child.Kill();
        Assert.True(child.WaitForExit(10_000));
        // As Process.ExitCode after Kill: SIGKILL on Linux; TerminateProcess(-1) on Windows.
        Assert.Equal(Windows ? -1 : 128 + 9, child.ExitCode);
        child.Kill(); // after the exit: nothing
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task StandardStreamsEnvironmentAndWorkingDirectory()
    {
        Supported();
        using var dir = new TempDirectory();
        ProcessStartInfo start;
        if (Windows)
        {
            start = new ProcessStartInfo(Probe) { ArgumentList = { "--report", "NI_TEST_VALUE" } };
        }
        else
        {
            start = new ProcessStartInfo("/bin/sh");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("read line; echo \"$line|$NI_TEST_VALUE|$(pwd -P)\"; echo oops >&2");
        }
        start.RedirectStandardInput = start.RedirectStandardOutput = start.RedirectStandardError = true;
        start.WorkingDirectory = dir.FullPath;
        start.Environment["NI_TEST_VALUE"] = "value with spaces";
        using ChildProcess child = ChildProcess.Start(start);
        child.StandardInput.WriteLine("hello");
        child.StandardInput.Close();
        Task<string> error = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(30_000));
        string directory = Windows ? Path.TrimEndingDirectorySeparator(dir.FullPath) : new DirectoryInfo(dir.FullPath).ResolveLinkTarget(true)?.FullName ?? dir.FullPath;
        Assert.Equal($"hello|value with spaces|{directory}\n", output);
        Assert.Equal("oops\n", (await error).Replace("\r\n", "\n"));
        Assert.Equal(0, child.ExitCode);
    }

    [Fact]
    public void Environment_IsPassedAsUtf8_WithRemovedVariablesLeftOut()
    {
        Supported();
        Environment.SetEnvironmentVariable("NI_TEST_INHERITED", "from the parent");
        try
        {
            Assert.Equal("ünïcödé ✓ 𝄞 a=b", SeenByChild("NI_TEST_TEXT"));
            Assert.Equal("", SeenByChild("NI_TEST_EMPTY"));
            Assert.Equal("from the parent", SeenByChild("NI_TEST_KEPT"));
            // Removed: the child must not see it at all. (The Windows probe prints an unset variable as an empty value.)
            Assert.Equal(Windows ? "" : "removed", SeenByChild("NI_TEST_INHERITED"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NI_TEST_INHERITED", null);
        }

        static string SeenByChild(string name)
        {
            ProcessStartInfo start = Windows
                ? new ProcessStartInfo(Probe) { ArgumentList = { "--report", name }, RedirectStandardInput = true, RedirectStandardOutput = true, StandardOutputEncoding = Encoding.UTF8 }
                : Shell($"printf '%s' \"${{{name}-removed}}\"");
            start.Environment["NI_TEST_KEPT"] = start.Environment["NI_TEST_INHERITED"]; // the snapshot, taken now, has it
            start.Environment["NI_TEST_TEXT"] = "ünïcödé ✓ 𝄞 a=b";
            start.Environment["NI_TEST_EMPTY"] = "";
            start.Environment["NI_TEST_INHERITED"] = null;
            using ChildProcess child = ChildProcess.Start(start);
            if (Windows)
                child.StandardInput.Close(); // the probe reads a line first
            string output = child.StandardOutput.ReadToEnd();
            Assert.True(child.WaitForExit(30_000));
            return Windows ? output.Split('|')[1] : output; // Windows: "<line>|<value>|<directory>"
        }
    }

    [Fact]
    public void StreamsThatWereNotRedirectedThrow()
    {
        Supported();
        using ChildProcess child = ChildProcess.Start(ExitWith(0));
        Assert.Throws<InvalidOperationException>(() => child.StandardInput);
        Assert.Throws<InvalidOperationException>(() => child.StandardOutput);
        Assert.Throws<InvalidOperationException>(() => child.StandardError);
        Assert.True(child.WaitForExit(30_000));
        Assert.Equal(0, child.ExitCode);
    }

    [Fact]
    public void UnsupportedPropertiesThrowNotSupportedNamingThem()
    {
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => ChildProcess.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = true }));
        Assert.Contains("UseShellExecute", e.Message);
        e = Assert.Throws<NotSupportedException>(() => ChildProcess.Start(new ProcessStartInfo("/bin/true") { Verb = "open" }));
        Assert.Contains("Verb", e.Message);
        e = Assert.Throws<NotSupportedException>(() => ChildProcess.Start(new ProcessStartInfo("/bin/true") { UserName = "root" }));
        Assert.Contains("UserName", e.Message);
        e = Assert.Throws<NotSupportedException>(() => ChildProcess.Start(new ProcessStartInfo("/bin/true") { WindowStyle = ProcessWindowStyle.Hidden }));
        Assert.Contains("WindowStyle", e.Message);
        Assert.Throws<InvalidOperationException>(() => ChildProcess.Start(new ProcessStartInfo()));
        var both = new ProcessStartInfo("/bin/true", "x");
        both.ArgumentList.Add("y");
        Assert.Throws<InvalidOperationException>(() => ChildProcess.Start(both));
        Assert.Throws<ArgumentNullException>(() => ChildProcess.Start((ProcessStartInfo)null!));
    }

    [Fact]
    public void TwoHandlesForOneNumberAreRejected()
    {
        Supported();
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle r, out SafeFileHandle w);
        using (r)
        using (w)
        {
            ProcessStartInfo start = ExitWith(0);
            start.RedirectStandardOutput = true; // so 1 is taken
            Assert.Throws<ArgumentException>(() => ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [1] = w }));
            Assert.Throws<ArgumentException>(() => ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [-3] = w }));
        }
    }

    /// <summary>
    /// When Start returns, the child holds nothing it was not given, however our descriptors are numbered:
    /// /proc/&lt;pid&gt;/fd shows none of the 3,000 others open here, so a socket, a lock or a pipe end closed right after
    /// is closed at once. (execve closes close-on-exec descriptors in the order of their numbers, and Start goes on
    /// when execve reaches its report channel's, here in a hole below the others: the child closes what it does not
    /// keep itself, before execve.)
    /// </summary>
    [Fact]
    public void ChildHoldsNothingElse_WhenStartReturns_Linux()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "counted in /proc/<pid>/fd");
        var extra = new List<SafeFileHandle>();
        try
        {
            for (int i = 0; i < 3000; i++)
                extra.Add(File.OpenHandle("/dev/null"));
            for (int round = 0; round < 5; round++)
            {
                for (int i = 0; i < 4; i++)
                    extra[round * 4 + i].Dispose(); // a hole low down, where Start's new descriptors land
                using ChildProcess child = ChildProcess.Start(new ProcessStartInfo("sleep", "30"));
                // Above the numbers the new program's own start-up (its loader) opens.
                int held = Directory.GetFileSystemEntries($"/proc/{child.Id}/fd").Count(e => int.Parse(Path.GetFileName(e)) >= 100);
                child.Kill();
                child.WaitForExit();
                Assert.Equal(0, held);
            }
        }
        finally
        {
            foreach (SafeFileHandle handle in extra)
                handle.Dispose();
        }
    }

    /// <summary>
    /// Start + WaitForExit + Dispose of a program that exits at once allocates fewer bytes on the calling thread than
    /// Process.Start's (on .NET 11 with <c>InheritedHandles = []</c>, its way of passing nothing but the standard
    /// streams, as DotNet11StartBenchmarks compares them): averaged over 50 starts after 20 that warm both up.
    /// </summary>
    [Fact]
    public void Start_AllocatesLessThanProcessStart()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "measured where the benchmarks measure it (Linux); Windows starts differ in what they allocate");
        var ours = new ProcessStartInfo("/bin/true");
        var theirs = new ProcessStartInfo("/bin/true");
        if (Net11.Available)
            Net11.Set(theirs, "InheritedHandles", new List<SafeHandle>());
        long bcl = Allocations.PerCall(() =>
        {
            using Process process = Process.Start(theirs)!;
            process.WaitForExit();
        });
        long mine = Allocations.PerCall(() =>
        {
            using ChildProcess child = ChildProcess.Start(ours);
            child.WaitForExit();
        });
        Assert.True(mine < bcl, $"ChildProcess: {mine} bytes per start; Process.Start (runtime {Environment.Version}): {bcl}");
    }

    /// <summary>
    /// Linux: the exits of many children reach their tasks through one thread blocked on their pidfds
    /// (ni_exit_watcher_wait), neither a thread per child nor the thread pool's SIGCHLD handler: twenty children exit,
    /// every WaitForExitAsync completes with the code, and this process has one thread of that name
    /// (/proc/self/task/*/comm, which keeps 15 characters of it).
    /// </summary>
    [Fact]
    public async Task ExitsOfManyChildren_ComeThroughOneWatcherThread_Linux()
    {
        LinuxOnly("the exit watcher waits on pidfds (Linux)");
        Assert.SkipUnless(Interop.ExitWatcherCreate(out nint probe) == 0, "ni_exit_watcher_create fails here (no epoll)");
        Interop.Close(probe);
        var children = new List<ChildProcess>();
        try
        {
            for (int i = 0; i < 20; i++)
                children.Add(ChildProcess.Start(ChildPrograms.Shell($"sleep 0.{i % 3}; exit {i}", "")));
            using var timeout = new CancellationTokenSource(30_000);
            for (int i = 0; i < children.Count; i++)
            {
                await children[i].WaitForExitAsync(timeout.Token);
                Assert.Equal(i, children[i].ExitCode);
            }
            int watchers = Directory.EnumerateDirectories("/proc/self/task")
                .Count(task => File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n') == "ChildProcess ex");
            Assert.Equal(1, watchers);
        }
        finally
        {
            foreach (ChildProcess child in children)
                child.Dispose();
        }
    }
    /// <summary>Process.Start's three file-name overloads, on ChildProcess: the same child runs with the same arguments, and
    /// the same bad input gives the same exception.</summary>
    [Fact]
    public void Start_WithAFileName_StartsWhatProcessStartStarts()
    {
        (string file, string[] list, string line, string bare) = ChildPrograms.Windows
            ? (ChildPrograms.Probe, new[] { "--exit", "7" }, "--exit 7", ChildPrograms.Probe)
            : ("/bin/sh", new[] { "-c", "exit 7" }, "-c \"exit 7\"", "/bin/false");
        static int Ours(Func<ChildProcess> start)
        {
            using ChildProcess child = start();
            child.WaitForExit();
            return child.ExitCode;
        }
        static int Theirs(Func<Process> start)
        {
            using Process process = start();
            process.WaitForExit();
            return process.ExitCode;
        }
        Assert.Equal((7, 7), (Ours(() => ChildProcess.Start(file, list)), Theirs(() => Process.Start(file, list))));
        Assert.Equal((7, 7), (Ours(() => ChildProcess.Start(file, line)), Theirs(() => Process.Start(file, line))));
        Assert.Equal(Theirs(() => Process.Start(bare)), Ours(() => ChildProcess.Start(bare)));

        Outcome.AssertSame(Outcome.Of(() => Process.Start((string)null!)), Outcome.Of(() => ChildProcess.Start((string)null!)));
        Outcome.AssertSame(Outcome.Of(() => Process.Start("", "x")), Outcome.Of(() => ChildProcess.Start("", "x")));
        Outcome.AssertSame(Outcome.Of(() => Process.Start(null!, list)), Outcome.Of(() => ChildProcess.Start(null!, list)));
        Outcome.AssertSame(Outcome.Of(() => Process.Start(file, (IEnumerable<string>)null!)), Outcome.Of(() => ChildProcess.Start(file, (IEnumerable<string>)null!)));
    }
    /// <summary>StartTime and ExitTime: the values and the refusals Process gives for the same child.</summary>
    [Fact]
    public void StartTimeAndExitTime_AreWhatProcessGives()
    {
        DateTime before = DateTime.Now;
        using ChildProcess child = ChildProcess.Start(ChildPrograms.SleepsASecond());
        using Process theirs = Process.Start(ChildPrograms.SleepsASecond())!;
        DateTime started = child.StartTime;
        using (Process view = Process.GetProcessById(child.Id))
            Assert.True(Math.Abs((view.StartTime - started).TotalMilliseconds) < 100, $"{view.StartTime:O} against {started:O}");
        Assert.Equal(DateTimeKind.Local, started.Kind);
        Assert.InRange(started, before.AddSeconds(-1), DateTime.Now); // the system counts in clock ticks
        Outcome.AssertSame(Outcome.Of(() => theirs.ExitTime.ToString("O")), Outcome.Of(() => child.ExitTime.ToString("O")));

        child.WaitForExit();
        theirs.WaitForExit();
        DateTime exited = child.ExitTime;
        Assert.Equal(DateTimeKind.Local, exited.Kind);
        Assert.InRange(exited, started, DateTime.Now);
        Assert.Equal(started, child.StartTime); // kept
        Assert.Equal(exited, child.ExitTime);

        // First asked for after the exit: the system no longer knows it (Process asks its handle on Windows).
        if (ChildPrograms.Windows)
            return;
        using ChildProcess late = ChildProcess.Start(new ProcessStartInfo("/bin/true"));
        using Process theirsLate = Process.Start(new ProcessStartInfo("/bin/true"))!;
        late.WaitForExit();
        theirsLate.WaitForExit();
        string Normalized(string outcome, int pid) => outcome.Replace($"({pid})", "(pid)", StringComparison.Ordinal);
        Outcome.AssertSame(Normalized(Outcome.Of(() => theirsLate.StartTime.ToString("O")), theirsLate.Id),
            Normalized(Outcome.Of(() => late.StartTime.ToString("O")), late.Id));
    }
}
