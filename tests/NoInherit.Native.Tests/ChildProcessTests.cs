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
        if (Environment.GetEnvironmentVariable("NI_CHILD_ROLE") != "accept3")
            return;
        using var listener = new Socket(new SafeSocketHandle(3, ownsHandle: true));
        using Socket connection = listener.Accept();
        connection.Send("accepted"u8);
        connection.Shutdown(SocketShutdown.Both);
        Environment.Exit(0);
    }
}

public class ChildProcessTests
{
    // Prints "<fd> <target>" for every descriptor the shell holds, then END.
    private const string ListScript = "for f in /proc/$$/fd/*; do printf '%s ' \"${f##*/}\"; readlink \"$f\" || echo '?'; done; echo END";
    private const string EchoArgs = "for a; do printf '[%s]' \"$a\"; done";

    private static void LinuxOnly() => Assert.SkipUnless(ChildProcessProbe.IsSupported, ChildProcessProbe.SkipReason);

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
        LinuxOnly();
        using var dir = new TempDirectory();
        // Inheritable on purpose and not listed: a FileShare.Inheritable file, a socket made inheritable, an inheritable pipe.
        using SafeFileHandle leakyFile = File.OpenHandle(Path.Combine(dir.FullPath, "leaky"), FileMode.Create, FileAccess.ReadWrite, FileShare.Inheritable | FileShare.Read);
        using var leakySocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Inheritance.SetInheritable(leakySocket.SafeHandle, true);
        using var leakyPipe = new AnonymousPipeServerStream(PipeDirection.Out, HandleInheritability.Inheritable);
        Assert.True(Inheritance.IsInheritable(leakyFile));
        Assert.True(Inheritance.IsInheritable(leakySocket.SafeHandle));
        Assert.True(Inheritance.IsInheritable(leakyPipe.ClientSafePipeHandle));
        string[] leakyTargets =
        {
            ChildProcessProbe.TargetOf(leakyFile), ChildProcessProbe.TargetOf(leakySocket.SafeHandle),
            ChildProcessProbe.TargetOf(leakyPipe.ClientSafePipeHandle),
        };
        // Control: Process.Start's child does get them.
        HashSet<string> processStartChild = ChildProcessProbe.TargetsHeldByNewChild();
        foreach (string target in leakyTargets)
            Assert.Contains(target, processStartChild);

        // Listed: a pipe end as fd 3 and a socket under its own number.
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle listedRead, out SafeFileHandle listedWrite);
        using Socket listedSocket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        int socketNumber = (int)listedSocket.SafeHandle.DangerousGetHandle();
        using (listedRead)
        using (listedWrite)
        {
            using var stop = new CancellationTokenSource();
            Task[] starters = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using Process p = Process.Start(new ProcessStartInfo("/bin/true") { UseShellExecute = false })!;
                    p.WaitForExit();
                }
            }, TestContext.Current.CancellationToken)).ToArray();
            try
            {
                for (int round = 0; round < 10; round++)
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
                    Assert.Equal(ChildProcessProbe.TargetOf(listedRead), held[pipeNumber]);
                    Assert.Equal(ChildProcessProbe.TargetOf(listedSocket.SafeHandle), held[socketNumber]);
                    foreach (string target in leakyTargets)
                        Assert.DoesNotContain(target, held.Values);
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
    public void ListeningSocketPassedAsFd3IsAcceptedOnByTheChild()
    {
        LinuxOnly();
        // The child is this test executable itself: under qemu-user without binfmt_misc the kernel cannot exec it.
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture,
            "qemu-user (no binfmt_misc handler) cannot exec a binary of the emulated architecture, and this test's child is the test executable itself");
        using Socket listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var start = new ProcessStartInfo(Environment.ProcessPath!);
        start.Environment["NI_CHILD_ROLE"] = "accept3";
        using ChildProcess child = ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [3] = listener.SafeHandle });
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

    [Fact]
    public async Task RedirectedStdoutReachesEofWhenTheChildExits_WhileASiblingRuns()
    {
        LinuxOnly();
        using ChildProcess first = ChildProcess.Start(Shell("echo done"));
        // Siblings started meanwhile, ours and Process.Start's, both still running.
        using ChildProcess sibling = ChildProcess.Start(new ProcessStartInfo("/bin/sleep", "30") { RedirectStandardInput = true });
        using Process bclSibling = Process.Start(new ProcessStartInfo("/bin/sleep", "30") { UseShellExecute = false })!;
        try
        {
            // A TimeoutException here means a sibling holds the pipe: the classic hang.
            string text = await first.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken)
                .WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            Assert.Equal("done\n", text);
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
    [InlineData("/nonexistent-dir/program")]
    [InlineData("no-such-program-noinherit-test")]
    public void MissingProgramThrowsWin32ExceptionLikeProcessStart(string fileName)
    {
        LinuxOnly();
        var start = new ProcessStartInfo(fileName) { UseShellExecute = false };
        Win32Exception bcl = Assert.Throws<Win32Exception>(() => Process.Start(start));
        Win32Exception ours = Assert.Throws<Win32Exception>(() => ChildProcess.Start(start));
        Assert.Equal(bcl.NativeErrorCode, ours.NativeErrorCode);
        Assert.Equal(bcl.Message, ours.Message);
    }

    [Fact]
    public void NotExecutableAndBadWorkingDirectoryThrowWin32Exception()
    {
        LinuxOnly();
        using var dir = new TempDirectory();
        string plain = Path.Combine(dir.FullPath, "plain.sh");
        File.WriteAllText(plain, "#!/bin/sh\nexit 0\n");
        var start = new ProcessStartInfo(plain);
        Win32Exception bcl = Assert.Throws<Win32Exception>(() => Process.Start(start));
        Win32Exception ours = Assert.Throws<Win32Exception>(() => ChildProcess.Start(start));
        Assert.Equal(bcl.NativeErrorCode, ours.NativeErrorCode);

        var badCwd = new ProcessStartInfo("/bin/true") { WorkingDirectory = Path.Combine(dir.FullPath, "missing") };
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
        LinuxOnly();
        string[] args = { "a b", "", "q\"uote", "back\\slash\\", "\\\"", "  ", "tab\there", "'single'", "*", "$HOME", "ünï" };
        using ChildProcess child = ChildProcess.Start(Shell(EchoArgs, args));
        string expected = string.Concat(args.Select(a => $"[{a}]"));
        Assert.Equal(expected, Output(child));
        Assert.Equal(0, child.ExitCode);
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
        LinuxOnly();
        var start = new ProcessStartInfo("/bin/sh", "-c \"" + EchoArgs.Replace("\"", "\\\"") + "\" sh " + arguments)
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using Process bcl = Process.Start(start)!;
        using ChildProcess ours = ChildProcess.Start(start);
        Assert.Equal(Output(bcl), Output(ours));
    }

    [Theory]
    [InlineData("exit 0", 0)]
    [InlineData("exit 1", 1)]
    [InlineData("exit 255", 255)]
    [InlineData("kill -TERM $$", 128 + 15)]
    [InlineData("kill -KILL $$", 128 + 9)]
    public void ExitCodesMatchProcess(string script, int expected)
    {
        LinuxOnly();
        var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using ChildProcess ours = ChildProcess.Start(start);
        using Process bcl = Process.Start(start)!;
        Assert.True(ours.WaitForExit(30_000));
        bcl.WaitForExit();
        Assert.True(ours.HasExited);
        Assert.Equal(expected, ours.ExitCode);
        Assert.Equal(bcl.ExitCode, ours.ExitCode);
    }

    [Fact]
    public async Task ExitCodesStayCorrectWhileProcessChildrenRunAlongside()
    {
        LinuxOnly();
        var ours = new List<(ChildProcess Child, int Code)>();
        var theirs = new List<(Process Child, int Code)>();
        for (int i = 0; i < 20; i++)
        {
            int code = i * 13 % 256;
            var start = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add($"sleep 0.0{i % 10}; exit {code}");
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

    [Fact]
    public async Task WaitTimeoutKillAndCancellation()
    {
        LinuxOnly();
        using ChildProcess child = ChildProcess.Start(new ProcessStartInfo("sleep", "30"));
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
        Assert.Equal(128 + 9, child.ExitCode);
        child.Kill(); // after the exit: nothing
        await child.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task StandardStreamsEnvironmentAndWorkingDirectory()
    {
        LinuxOnly();
        using var dir = new TempDirectory();
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir.FullPath,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("read line; echo \"$line|$NI_TEST_VALUE|$(pwd -P)\"; echo oops >&2");
        start.Environment["NI_TEST_VALUE"] = "value with spaces";
        using ChildProcess child = ChildProcess.Start(start);
        child.StandardInput.WriteLine("hello");
        child.StandardInput.Close();
        Task<string> error = child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        string output = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(30_000));
        Assert.Equal($"hello|value with spaces|{new DirectoryInfo(dir.FullPath).ResolveLinkTarget(true)?.FullName ?? dir.FullPath}\n", output);
        Assert.Equal("oops\n", await error);
        Assert.Equal(0, child.ExitCode);
    }

    [Fact]
    public void StreamsThatWereNotRedirectedThrow()
    {
        LinuxOnly();
        using ChildProcess child = ChildProcess.Start(new ProcessStartInfo("/bin/true"));
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
        Assert.Throws<ArgumentNullException>(() => ChildProcess.Start(null!));
    }

    [Fact]
    public void TwoHandlesForOneNumberAreRejected()
    {
        LinuxOnly();
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle r, out SafeFileHandle w);
        using (r)
        using (w)
        {
            // stdout is redirected, so 1 is taken.
            Assert.Throws<ArgumentException>(() => ChildProcess.Start(Shell("true"), new Dictionary<int, SafeHandle> { [1] = w }));
            Assert.Throws<ArgumentException>(() => ChildProcess.Start(Shell("true"), new Dictionary<int, SafeHandle> { [-3] = w }));
        }
    }
}
