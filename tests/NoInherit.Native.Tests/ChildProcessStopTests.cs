using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;
using static NoInherit.Native.Tests.ChildProcessTreeTests;

namespace NoInherit.Native.Tests;

/// <summary>
/// ChildProcess.StopAsync: a request to stop (SIGTERM; Windows: CTRL_BREAK_EVENT to a group, else a kill), the grace
/// period, then the whole tree killed; the status says which of the two ended the child.
/// </summary>
public class ChildProcessStopTests
{
    private const int SigTerm = -4, SigKill = -11;

    /// <summary>A shell running <paramref name="script"/>, marked (see ChildProcessTreeTests.StartTree).</summary>
    private static Tree StartReady(string script, bool group = false) => StartTree(script, group, count: 1);

    private static void WaitForReady(string mark, int count) =>
        WaitUntil(() => Marked(mark).Count >= count, "the tree did not start");

    [Fact]
    public async Task AChildThatCatchesTerm_AndExits_ReportsItsOwnExit()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "POSIX signals (Windows: WindowsChildren_AreKilled)");
        // The trap is set before the sleeper starts: two processes of the tree mean it is in place. Each sleeper lives
        // 1 s, so that the scan of the processes (slow under an emulator) finds one; sh runs the trap once it ends.
        using Tree tree = StartReady("trap 'exit 0' TERM; while :; do sleep 1; done");
        (ChildProcess child, string mark) = tree;
        WaitForReady(mark, 2);
        var clock = Stopwatch.StartNew();
        ChildProcessExitStatus status = await child.StopAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal("ExitCode=0, Canceled=False, Signal=null", Describe(status));
        Assert.True(clock.ElapsedMilliseconds < 20_000);
    }

    [Fact]
    public async Task AChildEndedByTerm_ReportsTerm()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "POSIX signals");
        using ChildProcess child = ChildProcess.Start(SleeperStartInfo());
        ChildProcessExitStatus status = await child.StopAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal($"ExitCode=143, Canceled=False, Signal={SigTerm}", Describe(status));
    }

    /// <summary>A child (and its own child) that ignore SIGTERM: killed, tree and all, when the grace period ends.</summary>
    [Fact]
    public async Task AChildThatIgnoresTerm_IsKilledWithItsTree_WhenTheGracePeriodEnds()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "POSIX signals");
        using Tree tree = StartReady("trap '' TERM; sleep 100 & wait");
        (ChildProcess child, string mark) = tree;
        WaitForReady(mark, 2);
        var clock = Stopwatch.StartNew();
        ChildProcessExitStatus status = await child.StopAsync(TimeSpan.FromMilliseconds(500), TestContext.Current.CancellationToken);
        Assert.True(clock.ElapsedMilliseconds >= 450, $"killed after {clock.ElapsedMilliseconds} ms, before the grace period ended");
        Assert.Equal($"ExitCode=137, Canceled=True, Signal={SigKill}", Describe(status));
        Assert.Empty(LeftAfter(mark, 5000)); // the sleeper, which ignores SIGTERM too, went with it
    }

    [Fact]
    public async Task CancellingTheToken_KillsAtOnce()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "POSIX signals");
        using Tree tree = StartReady("trap '' TERM; sleep 100 & wait");
        (ChildProcess child, string mark) = tree;
        WaitForReady(mark, 2);
        using var cancel = new CancellationTokenSource(300);
        var clock = Stopwatch.StartNew();
        ChildProcessExitStatus status = await child.StopAsync(Timeout.InfiniteTimeSpan, cancel.Token);
        Assert.Equal($"ExitCode=137, Canceled=True, Signal={SigKill}", Describe(status));
        Assert.True(clock.ElapsedMilliseconds < 20_000);
        Assert.Empty(LeftAfter(mark, 5000));
    }

    /// <summary>A token cancelled already: no request at all (a child that would exit 0 on SIGTERM is killed).</summary>
    [Fact]
    public async Task ATokenCancelledAlready_SkipsTheRequest()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "POSIX signals");
        using Tree tree = StartReady("trap 'exit 0' TERM; while :; do sleep 1; done");
        (ChildProcess child, string mark) = tree;
        WaitForReady(mark, 2);
        ChildProcessExitStatus status = await child.StopAsync(TimeSpan.FromSeconds(30), new CancellationToken(canceled: true));
        Assert.Equal($"ExitCode=137, Canceled=True, Signal={SigKill}", Describe(status));
    }

    /// <summary>
    /// SIGTERM goes to the group the child leads: the shell and its sleeper both end by it. The control, without a group:
    /// the shell alone gets it, and its sleeper lives on.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheRequestGoesToTheGroup_WhenTheChildLeadsOne(bool group)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "POSIX signals");
        using Tree tree = StartReady("sleep 100 & wait", group);
        (ChildProcess child, string mark) = tree;
        WaitForReady(mark, 2);
        ChildProcessExitStatus status = await child.StopAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.Equal($"ExitCode=143, Canceled=False, Signal={SigTerm}", Describe(status));
        if (group)
            Assert.Empty(LeftAfter(mark, 5000));
        else
        {
            Thread.Sleep(300);
            Assert.Single(Marked(mark));
        }
    }

    [Fact]
    public async Task AChildThatHasExited_GivesItsStatus_AndBadGracePeriodsAreRefused()
    {
        using ChildProcess child = ChildProcess.Start(Exit(7));
        child.WaitForExit();
        Assert.Equal("ExitCode=7, Canceled=False, Signal=null", Describe(await child.StopAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>("gracePeriod", () => child.StopAsync(TimeSpan.FromMilliseconds(-2), TestContext.Current.CancellationToken));
        child.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => child.StopAsync(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// Windows has no request to stop a child without a console group of its own: it is killed at once (a grace period of
    /// a minute is not waited out), its status says Canceled. With a group, CTRL_BREAK_EVENT goes to it where it can be
    /// sent (the sleeper takes it and goes on, as ping does, so it is killed after 2 s); where it cannot (no console, and always
    /// under wine 8) the child is killed at once. Either way: killed, Canceled.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WindowsChildren_AreKilled_WhenNoRequestReachesThem(bool group)
    {
        Assert.SkipUnless(Windows, "Windows' console events");
        using ChildProcess child = ChildProcess.Start(SleeperStartInfo(), new ChildProcessOptions { CreateNewProcessGroup = group });
        var clock = Stopwatch.StartNew();
        ChildProcessExitStatus status = await child.StopAsync(group ? TimeSpan.FromSeconds(2) : TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);
        Assert.True(clock.ElapsedMilliseconds < 20_000, "the grace period was waited out");
        Assert.Equal("ExitCode=-1, Canceled=True, Signal=null", Describe(status));
    }
}
