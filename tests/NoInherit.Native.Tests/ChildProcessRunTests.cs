using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// The one-call scenarios of .NET 11 on ChildProcess: Run, RunAsync, RunAndCaptureText(Async) and StartAndForget, with
/// .NET 11's rules (both outputs for the capture methods, no redirection for Run and StartAndForget, Canceled for a
/// timeout or cancellation of Run, TimeoutException from RunAndCaptureText after the kill, the null device for
/// StartAndForget's streams). On the .NET 11 lane each result is compared with .NET 11's own.
/// </summary>
public class ChildProcessRunTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_GivesTheExitStatus()
    {
        Assert.Equal("ExitCode=5, Canceled=False, Signal=null", Describe(ChildProcess.Run(Exit(5))));
        Assert.Equal("ExitCode=5, Canceled=False, Signal=null", Describe(await ChildProcess.RunAsync(Exit(5), Token)));
        string fileName = Windows ? "cmd.exe" : "/bin/sh";
        string[] arguments = Windows ? ["/d", "/c", "exit 6"] : ["-c", "exit 6"];
        Assert.Equal(6, ChildProcess.Run(fileName, arguments, silent: true).ExitCode);
        Assert.Equal(6, (await ChildProcess.RunAsync(fileName, arguments, silent: true, Token)).ExitCode);
        if (Net11.Available)
        {
            object theirs = Net11.Call(typeof(Process), null, "Run", [typeof(ProcessStartInfo), typeof(TimeSpan?)], Exit(5), null)!;
            Assert.Equal(Net11.Describe(theirs), Describe(ChildProcess.Run(Exit(5))));
        }
    }

    [Fact]
    public async Task Run_TimeoutOrCancellation_KillsTheChild_AndSaysCanceled()
    {
        (string fileName, string[] arguments) = Sleeper();
        ChildProcessExitStatus status = ChildProcess.Run(fileName, arguments, silent: true, timeout: TimeSpan.FromMilliseconds(200));
        Assert.Equal(Windows ? "ExitCode=-1, Canceled=True, Signal=null" : "ExitCode=137, Canceled=True, Signal=-11", Describe(status));
        using var cancel = new CancellationTokenSource(200);
        Assert.True((await ChildProcess.RunAsync(fileName, arguments, silent: true, cancel.Token)).Canceled);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.True((await ChildProcess.RunAsync(SleeperStartInfo(), cancelled.Token)).Canceled); // started, then killed at once, as .NET 11
        Assert.Throws<ArgumentOutOfRangeException>(() => ChildProcess.Run(SleeperStartInfo(), TimeSpan.FromMilliseconds(-2)));
        if (Net11.Available)
        {
            object theirs = Net11.Call(typeof(Process), null, "Run", [typeof(string), typeof(System.Collections.Generic.IEnumerable<string>), typeof(bool), typeof(TimeSpan?)],
                fileName, arguments, true, (TimeSpan?)TimeSpan.FromMilliseconds(200))!;
            Assert.Equal(Net11.Describe(theirs), Describe(status));
        }
    }

    [Fact]
    public async Task Run_AndStartAndForget_RefuseRedirection()
    {
        ProcessStartInfo redirected = OutAndErr();
        Assert.Throws<ArgumentNullException>(() => ChildProcess.Run((ProcessStartInfo)null!));
        Assert.Throws<ArgumentNullException>(() => ChildProcess.Run((string)null!));
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ChildProcess.Run(redirected));
        Assert.Contains("RedirectStandardInput, RedirectStandardOutput, and RedirectStandardError", e.Message);
        Assert.Throws<InvalidOperationException>(() => ChildProcess.StartAndForget(redirected));
        await Assert.ThrowsAsync<InvalidOperationException>(() => ChildProcess.RunAsync(redirected, Token));
        e = Assert.Throws<InvalidOperationException>(() => ChildProcess.StartAndForget(new ProcessStartInfo("x") { UseShellExecute = true }));
        Assert.Contains("UseShellExecute", e.Message);
        if (Net11.Available)
        {
            Assert.Throws<InvalidOperationException>(() => Net11.Call(typeof(Process), null, "Run", [typeof(ProcessStartInfo), typeof(TimeSpan?)], redirected, null));
            Assert.Throws<InvalidOperationException>(() => Net11.Call(typeof(Process), null, "StartAndForget", [typeof(ProcessStartInfo)], redirected));
        }
    }

    /// <summary>Run's standard streams: this process's, or with <c>silent</c> the null device for all three (Linux: the
    /// child says what it holds at 0, 1 and 2).</summary>
    [Fact]
    public void Run_Silent_GivesTheNullDevice_OtherwiseThisProcesssStreams()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child reads its descriptors from /proc");
        using var dir = new TempDirectory();
        string report = dir.Combine("fds");
        string[] arguments = ["-c", $"printf '%s\\n' \"$(readlink /proc/$$/fd/0)\" \"$(readlink /proc/$$/fd/1)\" \"$(readlink /proc/$$/fd/2)\" > '{report}'"];
        Assert.Equal(0, ChildProcess.Run("/bin/sh", arguments, silent: true).ExitCode);
        Assert.Equal("/dev/null,/dev/null,/dev/null", string.Join(",", File.ReadAllLines(report)));
        Assert.Equal(0, ChildProcess.Run("/bin/sh", arguments, silent: false).ExitCode);
        string[] ours = Enumerable.Range(0, 3).Select(fd => new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? "").ToArray();
        Assert.Equal(string.Join(",", ours), string.Join(",", File.ReadAllLines(report)));
    }

    [Fact]
    public async Task RunAndCaptureText_CapturesBothStreams()
    {
        ChildProcessTextOutput output = ChildProcess.RunAndCaptureText(OutAndErr());
        Assert.Equal(("out", "err", 3), (output.StandardOutput.TrimEnd(), output.StandardError.TrimEnd(), output.ExitStatus.ExitCode));
        Assert.True(output.ProcessId > 0);
        ChildProcessTextOutput async = await ChildProcess.RunAndCaptureTextAsync(OutAndErr(), Token);
        Assert.Equal((output.StandardOutput, output.StandardError), (async.StandardOutput, async.StandardError));
        string fileName = Windows ? "cmd.exe" : "/bin/sh";
        string[] arguments = Windows ? ["/d", "/c", "echo a& echo b 1>&2"] : ["-c", "echo a; echo b >&2"];
        ChildProcessTextOutput byName = ChildProcess.RunAndCaptureText(fileName, arguments);
        Assert.Equal(("a", "b"), (byName.StandardOutput.TrimEnd(), byName.StandardError.TrimEnd()));
        Assert.Equal("a", (await ChildProcess.RunAndCaptureTextAsync(fileName, arguments, Token)).StandardOutput.TrimEnd());
        if (Net11.Available)
        {
            object theirs = Net11.Call(typeof(Process), null, "RunAndCaptureText", [typeof(ProcessStartInfo), typeof(TimeSpan?)], OutAndErr(), null)!;
            Assert.Equal((Net11.Property(theirs, "StandardOutput"), Net11.Property(theirs, "StandardError")), ((object)output.StandardOutput, (object)output.StandardError));
            Assert.Equal(Net11.Describe(Net11.Property(theirs, "ExitStatus")!), Describe(output.ExitStatus));
        }
    }

    /// <summary>
    /// RunAndCaptureText of 1,000 lines allocates fewer bytes than .NET 11's (DotNet11CaptureBenchmarks' case): the
    /// outputs are read from the pipes themselves, and the StreamReaders that StandardOutput and StandardError give (12 KB
    /// of buffers each) are made only when those are asked for.
    /// </summary>
    [Fact]
    public void RunAndCaptureText_AllocatesLessThanDotNet11s()
    {
        Net11.Require("Process.RunAndCaptureText");
        var startInfo = new ProcessStartInfo("seq", "1000") { RedirectStandardOutput = true, RedirectStandardError = true };
        System.Reflection.MethodInfo bcl = typeof(Process).GetMethod("RunAndCaptureText", [typeof(ProcessStartInfo), typeof(TimeSpan?)])!;
        object?[] arguments = [startInfo, null];
        long theirs = Allocations.PerCall(() => bcl.Invoke(null, arguments), warmUp: 10, calls: 20);
        long ours = Allocations.PerCall(() => ChildProcess.RunAndCaptureText(startInfo), warmUp: 10, calls: 20);
        Assert.True(ours < theirs, $"ChildProcess.RunAndCaptureText: {ours} bytes per call; .NET 11's: {theirs}");
    }

    [Fact]
    public async Task RunAndCaptureText_NeedsBothOutputsRedirected_AsDotNet11()
    {
        ProcessStartInfo onlyOutput = Exit(0);
        onlyOutput.RedirectStandardOutput = true;
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ChildProcess.RunAndCaptureText(onlyOutput));
        Assert.Equal("RedirectStandardOutput and RedirectStandardError must both be set to true when calling ChildProcess.RunAndCaptureText with a ProcessStartInfo.", e.Message);
        await Assert.ThrowsAsync<InvalidOperationException>(() => ChildProcess.RunAndCaptureTextAsync(Exit(0), Token));
        if (Net11.Available)
            Assert.Throws<InvalidOperationException>(() => Net11.Call(typeof(Process), null, "RunAndCaptureText", [typeof(ProcessStartInfo), typeof(TimeSpan?)], onlyOutput, null));
    }

    [Fact]
    public async Task RunAndCaptureText_OutputStillComingAtTheTimeout_KillsTheChild_AndThrowsTimeout()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child reports its pid, then sleeps");
        ProcessStartInfo start = Shell("echo $$; exec sleep 30", "", capture: true);
        using var dir = new TempDirectory();
        start.ArgumentList[1] = $"echo $$ > '{dir.Combine("pid")}'; exec sleep 30";
        Assert.Throws<TimeoutException>(() => ChildProcess.RunAndCaptureText(start, TimeSpan.FromMilliseconds(300)));
        Assert.True(GoneWithin(int.Parse(File.ReadAllText(dir.Combine("pid"))), 5000), "the child was left running");
        using var cancel = new CancellationTokenSource(300);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ChildProcess.RunAndCaptureTextAsync(start, cancel.Token));
        Assert.True(GoneWithin(int.Parse(File.ReadAllText(dir.Combine("pid"))), 5000), "the child was left running");
    }

    [Fact]
    public void RunAndCaptureText_ExitLateAfterTheOutput_KillsTheChild_AndSaysCanceled()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child closes its outputs and goes on");
        ChildProcessTextOutput output = ChildProcess.RunAndCaptureText(Shell("echo early; exec >&- 2>&- sleep 30", "", capture: true), TimeSpan.FromMilliseconds(500));
        Assert.Equal(("early", true, PosixSignal(-11)), (output.StandardOutput.TrimEnd(), output.ExitStatus.Canceled, output.ExitStatus.Signal));
    }

    private static System.Runtime.InteropServices.PosixSignal? PosixSignal(int value) => (System.Runtime.InteropServices.PosixSignal)value;

    [Fact]
    public void RunAndCaptureText_ClosesARedirectedStandardInput()
    {
        // .NET 11 leaves it open, and this child would wait for ever (the difference is documented).
        ProcessStartInfo start = Shell("cat; echo done", "more & echo done", capture: true);
        start.RedirectStandardInput = true;
        ChildProcessTextOutput output = ChildProcess.RunAndCaptureText(start, TimeSpan.FromSeconds(60));
        Assert.Equal("done", output.StandardOutput.Trim());
        if (Net11.Available)
        {
            // .NET 11's leaves it open: the child waits until the timeout kills it.
            Assert.Throws<TimeoutException>(() => Net11.Call(typeof(Process), null, "RunAndCaptureText", [typeof(ProcessStartInfo), typeof(TimeSpan?)],
                start, (TimeSpan?)TimeSpan.FromSeconds(1)));
        }
    }

    [Fact]
    public void StartAndForget_GivesTheNullDeviceForEveryStream_AndLeavesNoZombie()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child reads its descriptors from /proc");
        using var dir = new TempDirectory();
        string report = dir.Combine("fds");
        int pid = ChildProcess.StartAndForget("/bin/sh", ["-c", $"printf '%s\\n' \"$(readlink /proc/$$/fd/0)\" \"$(readlink /proc/$$/fd/1)\" \"$(readlink /proc/$$/fd/2)\" > '{report}.tmp'; mv '{report}.tmp' '{report}'"]);
        Assert.True(pid > 0);
        Assert.True(GoneWithin(pid, 30_000));
        Assert.Equal("/dev/null,/dev/null,/dev/null", string.Join(",", File.ReadAllLines(report)));
        // Collected, not left a zombie (GoneWithin accepts a zombie: wait for the entry itself to go).
        var clock = Stopwatch.StartNew();
        while (Directory.Exists($"/proc/{pid}") && clock.ElapsedMilliseconds < 10_000)
            Thread.Sleep(20);
        Assert.False(Directory.Exists($"/proc/{pid}"), "the forgotten child was not collected");
    }

    /// <summary>
    /// What a child of Run and StartAndForget holds: ours only the standard streams; .NET 11's (by a start info without
    /// InheritedHandles) also whatever this process left inheritable. The README's table cites this.
    /// </summary>
    [Fact]
    public void RunAndStartAndForget_TheChildHoldsOnlyItsStandardStreams_WhereDotNet11sHoldsWhatWasLeftInheritable()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child lists /proc/self/fd");
        using var dir = new TempDirectory();
        using SafeFileHandle leaky = File.OpenHandle(dir.Combine("leaky"), FileMode.Create, FileAccess.ReadWrite, FileShare.Inheritable | FileShare.Read);
        string fd = leaky.DangerousGetHandle().ToString();
        string Held(string report) => File.Exists(report) && File.ReadAllText(report).Split('\n').Contains(fd) ? "holds it" : "does not hold it";
        ProcessStartInfo Lister(string report) => new("/bin/sh") { ArgumentList = { "-c", $"ls /proc/$$/fd > '{report}'" } };
        ChildProcess.Run(Lister(dir.Combine("ours-run")));
        int pid = ChildProcess.StartAndForget(Lister(dir.Combine("ours-forget")));
        Assert.True(GoneWithin(pid, 30_000));
        Assert.Equal("does not hold it", Held(dir.Combine("ours-run")));
        Assert.Equal("does not hold it", Held(dir.Combine("ours-forget")));
        if (Net11.Available)
        {
            Net11.Call(typeof(Process), null, "Run", [typeof(ProcessStartInfo), typeof(TimeSpan?)], Lister(dir.Combine("theirs-run")), null);
            pid = (int)Net11.Call(typeof(Process), null, "StartAndForget", [typeof(ProcessStartInfo)], Lister(dir.Combine("theirs-forget")))!;
            Assert.True(GoneWithin(pid, 30_000));
            Assert.Equal("holds it", Held(dir.Combine("theirs-run")));
            Assert.Equal("holds it", Held(dir.Combine("theirs-forget")));
            // .NET 11's way to pass nothing more: InheritedHandles = [].
            ProcessStartInfo restricted = Lister(dir.Combine("theirs-restricted"));
            Net11.Set(restricted, "InheritedHandles", new System.Collections.Generic.List<System.Runtime.InteropServices.SafeHandle>());
            using (Process p = Process.Start(restricted)!)
                p.WaitForExit();
            Assert.Equal("does not hold it", Held(dir.Combine("theirs-restricted")));
        }
    }

    [Fact]
    public void StartAndForget_StartsTheProgram()
    {
        int pid = ChildProcess.StartAndForget(Exit(0));
        Assert.True(pid > 0);
        Assert.True(GoneWithin(pid, 30_000));
    }
}
