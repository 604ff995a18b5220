using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// ChildProcess.Kill(entireProcessTree) with real process trees (Linux: every process of a tree carries a mark in its
/// environment, so that the test finds them all, those handed to init included). Each case runs with the child leading
/// a group of its own (CreateNewProcessGroup) and without; each shows what is reached and, where something is not, that
/// it is not. docs/architecture.md's table of what Kill(true) reaches cites these.
/// </summary>
public class ChildProcessTreeTests
{
    private const string Mark = "NI_TREE_MARK";

    /// <summary>A tree of processes a test started, marked; disposing it ends what is left of it.</summary>
    internal sealed class Tree(ChildProcess child, string mark) : IDisposable
    {
        public void Deconstruct(out ChildProcess treeChild, out string treeMark) => (treeChild, treeMark) = (child, mark);

        public void Dispose() => Cleanup(child, mark);
    }

    /// <summary>A tree: /bin/sh -c <paramref name="script"/>, every process of it marked; waits until <paramref name="count"/>
    /// processes carry the mark.</summary>
    internal static Tree StartTree(string script, bool group, int count, ChildProcessOptions? options = null)
    {
        string mark = Guid.NewGuid().ToString("N");
        var start = new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", script } };
        start.Environment[Mark] = mark;
        options ??= new ChildProcessOptions();
        options.CreateNewProcessGroup = group;
        ChildProcess child = ChildProcess.Start(start, options);
        var clock = Stopwatch.StartNew();
        while (Marked(mark).Count < count)
        {
            if (clock.ElapsedMilliseconds > 30_000)
            {
                Cleanup(child, mark);
                Assert.Fail($"the tree did not reach {count} processes: {Describe(mark)}");
            }
            Thread.Sleep(20);
        }
        return new Tree(child, mark);
    }

    internal static List<int> Marked(string mark) => ProcessMarks.Find(Mark, mark);

    internal static List<int> LeftAfter(string mark, int milliseconds) => ProcessMarks.GoneWithin(Mark, mark, milliseconds);

    internal static string Describe(string mark) => string.Join("; ", Marked(mark).Select(p => $"{p} {ProcessMarks.CommandLine(p)}"));

    /// <summary>Ends whatever is left of a tree, after the assertions.</summary>
    internal static void Cleanup(ChildProcess child, string mark)
    {
        child.Kill();
        ProcessMarks.Kill(Marked(mark));
        child.WaitForExit();
        child.Dispose();
    }

    /// <summary>Three levels: the shell, a shell it started with two sleepers, and a sleeper of its own.</summary>
    private const string ThreeLevels = "sh -c 'sleep 100 & sleep 100 & wait' & sleep 100 & wait";

    /// <summary>Kill(true) ends all five processes; the control, Kill(false), the child alone: the four others live on.</summary>
    [Theory]
    [InlineData(false, true)]
    [InlineData(true, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void KillTrue_EndsThreeLevels_WhereKillFalseEndsTheChildAlone(bool group, bool entireProcessTree)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is found through /proc");
        using Tree tree = StartTree(ThreeLevels, group, count: 5);
        (ChildProcess child, string mark) = tree;
        child.Kill(entireProcessTree);
        Assert.Equal(-11, (int)child.WaitForExitStatus().Signal!.Value);
        if (entireProcessTree)
            Assert.Empty(LeftAfter(mark, 5000));
        else
        {
            Thread.Sleep(200);
            Assert.Equal(4, Marked(mark).Count);
        }
    }

    /// <summary>A grandchild forks a sleeper every 20 ms while the kill runs: nothing of the tree is left.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KillTrue_EndsAGrandchildThatForksInALoop(bool group)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is found through /proc");
        using Tree tree = StartTree("sh -c 'while :; do sleep 100 & sleep 0.02; done' & wait", group, count: 15);
        (ChildProcess child, string mark) = tree;
        child.Kill(entireProcessTree: true);
        child.WaitForExit();
        List<int> left = LeftAfter(mark, 5000);
        Assert.True(left.Count == 0, $"left: {Describe(mark)}");
    }

    /// <summary>A grandchild that called setsid (a session and group of its own) is reached while its parent lives.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KillTrue_EndsASetsidGrandchild_WhileItsParentLives(bool group)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is found through /proc");
        using Tree tree = StartTree("setsid sleep 100 & wait", group, count: 2);
        (ChildProcess child, string mark) = tree;
        int grandchild = Marked(mark).Single(p => p != child.Id);
        WaitUntil(() => SessionOf(grandchild) == grandchild, "the grandchild did not call setsid");
        child.Kill(entireProcessTree: true);
        Assert.Empty(LeftAfter(mark, 5000));
    }

    /// <summary>
    /// Out of reach, as docs/architecture.md states: a grandchild that called setsid and whose parent died (a daemon that
    /// forked twice) belongs to init and to no group of the tree. The child's own group does not help.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KillTrue_DoesNotReachADaemonThatForkedTwice(bool group)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is found through /proc");
        using Tree tree = StartTree("(setsid sleep 100 &); exec sleep 100", group, count: 2);
        (ChildProcess child, string mark) = tree;
        int daemon = 0;
        WaitUntil(() => (daemon = Marked(mark).FirstOrDefault(p => p != child.Id && SessionOf(p) == p && ParentOf(p) != child.Id)) != 0,
            "the daemon did not detach");
        child.Kill(entireProcessTree: true);
        child.WaitForExit();
        Thread.Sleep(300);
        Assert.Equal([daemon], Marked(mark));
    }

    /// <summary>
    /// An orphan that stayed in the group (its parent, a subshell, exited): reached when the child leads a group, even
    /// after the child itself has exited; not reached without one, as with Process.Kill(true), which walks by parentage.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void KillTrue_ReachesAnOrphanInTheGroup_OnlyWhenTheChildLeadsOne(bool group)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is found through /proc");
        using Tree tree = StartTree("(sleep 100 &); exit 0", group, count: 1);
        (ChildProcess child, string mark) = tree;
        Assert.Equal(0, child.WaitForExitStatus().ExitCode); // the child has exited and been collected
        // The sleeper was forked before its subshell, and so the child, exited; it may still be in its exec, when /proc
        // shows an empty environment (the old memory is gone): it is looked for until seen.
        int orphan = 0;
        WaitUntil(() => Marked(mark) is [int only] && (orphan = only) != 0, $"the orphan was not found: {Describe(mark)}");
        child.Kill(entireProcessTree: true);
        if (group)
            Assert.Empty(LeftAfter(mark, 5000));
        else
        {
            Thread.Sleep(300);
            Assert.Equal([orphan], Marked(mark));
        }
    }

    /// <summary>
    /// Process.Kill(true) (the running runtime's: .NET 10, or .NET 11 on its lane) on the same tree as above, whose shell
    /// lives on: it walks by parentage, and the orphan, handed to init, is not reached. The README's table cites this.
    /// </summary>
    [Fact]
    public void ProcessKillTrue_DoesNotReachAnOrphan()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tree is found through /proc");
        string mark = Guid.NewGuid().ToString("N");
        var start = new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", "(sleep 100 &); exec sleep 100" } };
        start.Environment[Mark] = mark;
        using Process process = Process.Start(start)!;
        try
        {
            WaitUntil(() => Marked(mark).Count == 2, "the tree did not start");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Thread.Sleep(300);
            Assert.Single(Marked(mark));
        }
        finally
        {
            ProcessMarks.Kill(Marked(mark));
        }
    }

    /// <summary>
    /// Windows: a child with a job of its own (CreateNewProcessGroup) takes its grandchild with it through the job; one
    /// without a job through a walk by parent id, as Process.Kill(true). The control, Kill(false), leaves the grandchild.
    /// </summary>
    [Theory]
    [InlineData(true, true)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void KillTrue_OnWindows_EndsTheGrandchild(bool group, bool entireProcessTree)
    {
        Assert.SkipUnless(Windows, "Windows jobs and parent ids (Linux: the tests above)");
        using var dir = new TempDirectory();
        // A copy of the sleeper under a name of its own, so that its processes are told from any other.
        string name = "ni-tree-" + Guid.NewGuid().ToString("N")[..8];
        string program = dir.Combine(name + ".exe");
        File.Copy(ChildPrograms.Probe, program);
        var start = new ProcessStartInfo("cmd.exe", $"/d /c \"\"{program}\" --sleep 100\""); // cmd's own quoting
        using ChildProcess child = ChildProcess.Start(start, new ChildProcessOptions { CreateNewProcessGroup = group });
        WaitUntil(() => Process.GetProcessesByName(name).Length == 1, "the grandchild did not start");
        child.Kill(entireProcessTree);
        child.WaitForExit();
        bool gone = SpinWait.SpinUntil(() => Process.GetProcessesByName(name).Length == 0, entireProcessTree ? 5000 : 500);
        foreach (Process left in Process.GetProcessesByName(name))
            left.Kill();
        Assert.Equal(entireProcessTree, gone);
    }

    /// <summary>
    /// Windows, what CreateNewProcessGroup's job adds: a grandchild whose parent (a middle cmd that started it with
    /// start /b) has ended is still in the job and reached; without a job nothing ties it to the tree any more.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void KillTrue_OnWindows_ReachesAnOrphan_OnlyThroughTheJob(bool group)
    {
        Assert.SkipUnless(Windows, "Windows jobs and parent ids (Linux: KillTrue_ReachesAnOrphanInTheGroup_OnlyWhenTheChildLeadsOne)");
        using var dir = new TempDirectory();
        string name = "ni-orphan-" + Guid.NewGuid().ToString("N")[..8];
        string program = dir.Combine(name + ".exe");
        File.Copy(ChildPrograms.Probe, program);
        var start = new ProcessStartInfo("cmd.exe",
            $"/d /c \"cmd /d /c start \"\" /b \"{program}\" --sleep 100 & \"{ChildPrograms.Probe}\" --sleep 100\"");
        using ChildProcess child = ChildProcess.Start(start, new ChildProcessOptions { CreateNewProcessGroup = group });
        try
        {
            WaitUntil(() => Process.GetProcessesByName(name).Length == 1, "the orphan did not start");
            Thread.Sleep(500); // its parent, the middle cmd, has ended by now
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
            Assert.Equal(group, SpinWait.SpinUntil(() => Process.GetProcessesByName(name).Length == 0, group ? 5000 : 500));
        }
        finally
        {
            foreach (Process left in Process.GetProcessesByName(name))
                left.Kill();
        }
    }

    [Fact]
    public void KillTrue_OfAnExitedChild_DoesNothing_AndAfterDisposeOfARunningOne_ThrowsObjectDisposed()
    {
        using (ChildProcess exited = ChildProcess.Start(Exit(3)))
        {
            exited.WaitForExit();
            exited.Kill(entireProcessTree: true);
            Assert.Equal(3, exited.ExitCode);
        }
        ChildProcess running = ChildProcess.Start(SleeperStartInfo());
        try
        {
            running.Dispose();
            Assert.Throws<ObjectDisposedException>(() => running.Kill(entireProcessTree: true));
        }
        finally
        {
            using Process process = Process.GetProcessById(running.Id);
            process.Kill();
        }
    }

    internal static void WaitUntil(Func<bool> condition, string failure)
    {
        Assert.True(SpinWait.SpinUntil(() =>
        {
            if (condition())
                return true;
            Thread.Sleep(20);
            return false;
        }, 30_000), failure);
    }

    private static int SessionOf(int pid) => StatField(pid, 5);

    private static int ParentOf(int pid) => StatField(pid, 3);

    private static int StatField(int pid, int field)
    {
        try
        {
            return int.Parse(ChildPrograms.StatFields(pid)[field]);
        }
        catch (IOException)
        {
            return -1; // gone
        }
    }
}
