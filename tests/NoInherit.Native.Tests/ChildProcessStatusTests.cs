using System;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// The exit status and signals of .NET 11 on ChildProcess: ChildProcessExitStatus (with the signal that ended a child),
/// Signal, Resume, WaitForExitStatus, TryWaitForExitStatus, WaitForExitStatusAsync, WaitForExitOrKillOnTimeout and
/// WaitForExitOrKillOnCancellationAsync. On the .NET 11 lane each is compared with .NET 11's own.
/// </summary>
public class ChildProcessStatusTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("exit 3", 3, null)]
    [InlineData("exit 143", 143, null)] // SIGTERM's code, by an exit: no signal
    [InlineData("kill -TERM $$", 143, -4)] // PosixSignal.SIGTERM
    [InlineData("kill -KILL $$", 137, -11)] // .NET 11's PosixSignal.SIGKILL
    [InlineData("kill -INT $$", 130, -2)]
    [InlineData("kill -USR1 $$", 138, 10)] // no portable name: the raw number (Linux's SIGUSR1)
    public void ExitStatus_SaysWhichSignalEndedTheChild_WithDotNet11sValues(string script, int code, int? signal)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "signals (and these numbers) are Linux's; Windows reports no signal (ExitStatus_OnWindows...)");
        var start = new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script } };
        if (script == "kill -INT $$" && IgnoredHere(2))
            (code, signal) = (0, null); // run with SIGINT ignored (a background job of a shell): the child inherits that, as from Process.Start
        using ChildProcess child = ChildProcess.Start(start);
        ChildProcessExitStatus status = child.WaitForExitStatus();
        Assert.Equal(code, status.ExitCode);
        Assert.Equal(code, child.ExitCode);
        Assert.Equal(signal, (int?)status.Signal);
        Assert.False(status.Canceled);
        if (Net11.Available)
            Assert.Equal(Net11.Describe(Net11.Call(typeof(Process), null, "Run", [typeof(ProcessStartInfo), typeof(TimeSpan?)], start, null)!), Describe(status));
    }

    /// <summary>Whether this process ignores signal <paramref name="number"/> (SigIgn in /proc/self/status).</summary>
    private static bool IgnoredHere(int number)
    {
        string mask = File.ReadLines("/proc/self/status").First(l => l.StartsWith("SigIgn:"))["SigIgn:".Length..].Trim();
        return ((Convert.ToUInt64(mask, 16) >> (number - 1)) & 1) != 0;
    }

    [Fact]
    public void ExitStatus_OnWindows_IsTheExitCodeAndNoSignal()
    {
        Assert.SkipUnless(Windows, "the Windows form of the exit status");
        using ChildProcess child = ChildProcess.Start(Exit(7));
        Assert.Equal("ExitCode=7, Canceled=False, Signal=null", Describe(child.WaitForExitStatus()));
        using ChildProcess killed = ChildProcess.Start(SleeperStartInfo());
        Assert.True(killed.Signal(ChildProcess.SIGKILL));
        Assert.Equal("ExitCode=-1, Canceled=False, Signal=null", Describe(killed.WaitForExitStatus()));
    }

    [Fact]
    public void ExitStatusTypes_HaveDotNet11sShape()
    {
        var status = new ChildProcessExitStatus(5, true);
        Assert.Equal("ExitCode=5, Canceled=True, Signal=null", Describe(status));
        Assert.Equal(PosixSignal.SIGTERM, new ChildProcessExitStatus(143, false, PosixSignal.SIGTERM).Signal);
        var line = new ChildProcessOutputLine("text", standardError: true);
        Assert.Equal(("text", true), (line.Content, line.StandardError));
        Assert.Equal("text", line.ToString());
        Assert.Equal("", default(ChildProcessOutputLine).ToString());
        var output = new ChildProcessTextOutput(status, "o", "e", 42);
        Assert.Equal((status, "o", "e", 42), (output.ExitStatus, output.StandardOutput, output.StandardError, output.ProcessId));
        Assert.Equal("exitStatus", Assert.Throws<ArgumentNullException>(() => new ChildProcessTextOutput(null!, "", "", 1)).ParamName);
        Assert.Equal("standardOutput", Assert.Throws<ArgumentNullException>(() => new ChildProcessTextOutput(status, null!, "", 1)).ParamName);
        Assert.Equal("standardError", Assert.Throws<ArgumentNullException>(() => new ChildProcessTextOutput(status, "", null!, 1)).ParamName);
        if (Net11.Available)
        {
            // The same shapes as .NET 11's: sealed classes and a readonly struct, the same constructors' parameter names.
            foreach ((Type ours, string theirs) in new[] { (typeof(ChildProcessExitStatus), "ProcessExitStatus"), (typeof(ChildProcessOutputLine), "ProcessOutputLine"),
                         (typeof(ChildProcessTextOutput), "ProcessTextOutput") })
            {
                Type bcl = typeof(Process).Assembly.GetType("System.Diagnostics." + theirs)!;
                Assert.Equal((bcl.IsValueType, bcl.IsSealed), (ours.IsValueType, ours.IsSealed));
                Assert.Equal(string.Join(",", Array.ConvertAll(bcl.GetConstructors()[0].GetParameters(), p => p.Name)),
                             string.Join(",", Array.ConvertAll(ours.GetConstructors()[0].GetParameters(), p => p.Name)));
            }
        }
    }

    [Fact]
    public void Signal_SendsIt_ThenSaysFalseOnceTheChildHasExited()
    {
        using ChildProcess child = ChildProcess.Start(SleeperStartInfo());
        if (Windows)
        {
            Assert.Throws<PlatformNotSupportedException>(() => child.Signal(PosixSignal.SIGTERM));
            Assert.True(child.Signal(ChildProcess.SIGKILL));
        }
        else
        {
            Assert.True(child.Signal(PosixSignal.SIGTERM));
        }
        ChildProcessExitStatus status = child.WaitForExitStatus();
        Assert.Equal(Windows ? null : PosixSignal.SIGTERM, status.Signal);
        Assert.False(child.Signal(ChildProcess.SIGKILL));
        child.Dispose();
        Assert.Throws<ObjectDisposedException>(() => child.Signal(ChildProcess.SIGKILL));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(-99)]
    public void Signal_ThatTheSystemHasNot_IsRefusedAsDotNet11RefusesIt(int signal)
    {
        using ChildProcess child = ChildProcess.Start(SleeperStartInfo());
        try
        {
            PlatformNotSupportedException e = Assert.Throws<PlatformNotSupportedException>(() => child.Signal((PosixSignal)signal));
            Assert.Contains(signal.ToString(), e.Message);
            if (Net11.Available)
            {
                using Process theirs = Process.Start(SleeperStartInfo())!;
                Assert.Throws<PlatformNotSupportedException>(() => Net11.Call(typeof(Process), theirs, "Signal", [typeof(PosixSignal)], (PosixSignal)signal));
                theirs.Kill();
            }
        }
        finally
        {
            child.Kill();
        }
    }

    [Fact]
    public async Task WaitForExitStatus_TryWait_AndAsync()
    {
        using ChildProcess child = ChildProcess.Start(SleeperStartInfo());
        Assert.False(child.TryWaitForExitStatus(TimeSpan.FromMilliseconds(100), out ChildProcessExitStatus? none));
        Assert.Null(none);
        ArgumentOutOfRangeException bad = Assert.Throws<ArgumentOutOfRangeException>(() => child.TryWaitForExitStatus(TimeSpan.FromMilliseconds(-2), out _));
        Assert.Equal("timeout", bad.ParamName);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        // As .NET 11's: a cancelled token ends the wait with TaskCanceledException, before and during it.
        await Assert.ThrowsAsync<TaskCanceledException>(() => child.WaitForExitStatusAsync(cancelled.Token));
        using var later = new CancellationTokenSource(100);
        await Assert.ThrowsAsync<TaskCanceledException>(() => child.WaitForExitStatusAsync(later.Token));
        Task<ChildProcessExitStatus> waiting = child.WaitForExitStatusAsync(Token);
        child.Kill();
        ChildProcessExitStatus status = await waiting;
        Assert.False(status.Canceled); // a Kill of the caller's is no timeout or cancellation
        Assert.True(child.TryWaitForExitStatus(TimeSpan.Zero, out ChildProcessExitStatus? again));
        Assert.Same(status, again);
        Assert.Same(status, child.WaitForExitStatus());
        Assert.Same(status, await child.WaitForExitStatusAsync(cancelled.Token)); // exited: whatever the token says
        if (Net11.Available)
        {
            using Process theirs = Process.Start(SleeperStartInfo())!;
            object[] arguments = [TimeSpan.FromMilliseconds(-2), null!];
            Outcome.AssertSame(Outcome.Of(() => Net11.Call(typeof(Process), theirs, "TryWaitForExitStatus", [typeof(TimeSpan), typeof(Process).Assembly.GetType("System.Diagnostics.ProcessExitStatus")!.MakeByRefType()], arguments)),
                               Outcome.Of(() => child.TryWaitForExitStatus(TimeSpan.FromMilliseconds(-2), out _)));
            theirs.Kill();
        }
    }

    [Fact]
    public void WaitForExitOrKillOnTimeout_KillsAChildThatOverstays_AndSaysCanceled()
    {
        using ChildProcess slow = ChildProcess.Start(SleeperStartInfo());
        ChildProcessExitStatus status = slow.WaitForExitOrKillOnTimeout(TimeSpan.FromMilliseconds(200));
        Assert.Equal(Windows ? "ExitCode=-1, Canceled=True, Signal=null" : "ExitCode=137, Canceled=True, Signal=-11", Describe(status));
        Assert.True(slow.WaitForExitStatus().Canceled); // it stays so
        using ChildProcess quick = ChildProcess.Start(Exit(4));
        Assert.Equal("ExitCode=4, Canceled=False, Signal=null", Describe(quick.WaitForExitOrKillOnTimeout(TimeSpan.FromSeconds(30))));
        Assert.Throws<ArgumentOutOfRangeException>(() => quick.WaitForExitOrKillOnTimeout(TimeSpan.FromMilliseconds(-5)));
        if (Net11.Available)
        {
            using Process theirs = Process.Start(SleeperStartInfo())!;
            object status11 = Net11.Call(theirs.SafeHandle.GetType(), theirs.SafeHandle, "WaitForExitOrKillOnTimeout", [typeof(TimeSpan)], TimeSpan.FromMilliseconds(200))!;
            Assert.Equal(Net11.Describe(status11), Describe(status));
        }
    }

    [Fact]
    public async Task WaitForExitOrKillOnCancellationAsync_KillsOnCancellation_AndWaitsOtherwise()
    {
        using ChildProcess slow = ChildProcess.Start(SleeperStartInfo());
        using var cancel = new CancellationTokenSource(200);
        ChildProcessExitStatus status = await slow.WaitForExitOrKillOnCancellationAsync(cancel.Token);
        Assert.True(status.Canceled);
        Assert.Equal(Windows ? -1 : 137, status.ExitCode);
        // A token cancelled already: killed at once.
        using ChildProcess other = ChildProcess.Start(SleeperStartInfo());
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.True((await other.WaitForExitOrKillOnCancellationAsync(cancelled.Token)).Canceled);
        // A token that cannot be cancelled: the wait for the exit.
        using ChildProcess quick = ChildProcess.Start(Exit(6));
        Assert.Equal("ExitCode=6, Canceled=False, Signal=null", Describe(await quick.WaitForExitOrKillOnCancellationAsync(CancellationToken.None)));
        // Exited before the cancellation: its own status.
        Assert.False((await quick.WaitForExitOrKillOnCancellationAsync(cancelled.Token)).Canceled);
    }

    [Fact]
    public void Resume_OfAChildNotStartedSuspended_IsRefused()
    {
        using ChildProcess child = ChildProcess.Start(Exit(0));
        Assert.Throws<InvalidOperationException>(child.Resume);
        child.WaitForExit();
        child.Dispose();
        Assert.Throws<ObjectDisposedException>(child.Resume);
    }

    [Fact]
    public void StartSuspended_TheChildRunsItsProgramOnlyOnceResumed()
    {
        using var dir = new TempDirectory();
        string marker = dir.Combine("ran");
        // cmd reads no \" inside an argument (ArgumentList quotes with it): the path unquoted (the temp path has no space).
        ProcessStartInfo start = Shell($"echo ran > '{marker}'", $"echo ran> {marker}");
        using ChildProcess child = ChildProcess.Start(start, new ChildProcessOptions { StartSuspended = true });
        Thread.Sleep(300);
        Assert.False(File.Exists(marker), "the suspended child ran its program");
        Assert.False(child.HasExited);
        child.Resume();
        Assert.Equal(0, child.WaitForExitStatus().ExitCode);
        Assert.True(File.Exists(marker));
        Assert.Throws<InvalidOperationException>(child.Resume);
    }

    [Fact]
    public void StartSuspended_AnExecFailure_IsResumesError_AsStartWouldReportIt()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "an exec failure after the fork is Unix's (Windows: CreateProcess fails at Start)");
        using var dir = new TempDirectory();
        string notExecutable = dir.Combine("data.sh");
        File.WriteAllText(notExecutable, "#!/bin/sh\n"); // no execute bit: execve fails with EACCES
        var start = new ProcessStartInfo(notExecutable);
        Win32Exception atStart = Assert.Throws<Win32Exception>(() => ChildProcess.Start(start));
        using ChildProcess child = ChildProcess.Start(start, new ChildProcessOptions { StartSuspended = true });
        Win32Exception atResume = Assert.Throws<Win32Exception>(child.Resume);
        Assert.Equal((atStart.NativeErrorCode, atStart.Message), (atResume.NativeErrorCode, atResume.Message));
        Assert.True(child.HasExited);
        Assert.Same(atResume, Assert.Throws<Win32Exception>(() => child.WaitForExitStatus()));
        Assert.True(IsGone(child.Id));
    }

    [Fact]
    public void StartSuspended_AChildDisposedUnresumed_ExitsWithoutRunningItsProgram()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "StartSuspended is honoured on Linux");
        using var dir = new TempDirectory();
        string marker = dir.Combine("ran");
        ChildProcess child = ChildProcess.Start(Shell($"echo ran > '{marker}'", ""), new ChildProcessOptions { StartSuspended = true });
        int pid = child.Id;
        child.Dispose();
        Assert.True(GoneWithin(pid, 10_000), "the unresumed child is still there");
        Assert.False(File.Exists(marker));
    }
}
