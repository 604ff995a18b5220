using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// ChildProcessOptions.OutputDrainTimeout: a grandchild that inherited the output pipes keeps them open after the child
/// exits; with the timeout every reader gets end-of-file by then, with what was read, and OutputTruncated says so.
/// Without it, readers wait as Process's do.
/// </summary>
public class ChildProcessDrainTests
{
    private const string Mark = "NI_DRAIN_MARK";

    /// <summary>The child prints, leaves a grandchild holding both pipes, and exits.</summary>
    private static ProcessStartInfo LeavesAGrandchild(string mark)
    {
        // Windows: the sleeper is found in the working directory, as no quote may be passed to cmd through ArgumentList.
        ProcessStartInfo start = Shell("sleep 100 & echo hi; echo err >&2", "start /b ni_handleprobe.exe --sleep 100 & echo hi& echo err>&2", capture: true);
        if (Windows)
            start.WorkingDirectory = Path.GetDirectoryName(ChildPrograms.Probe);
        start.Environment[Mark] = mark;
        return start;
    }

    private static ChildProcessOptions Drain(int milliseconds) =>
        new() { OutputDrainTimeout = TimeSpan.FromMilliseconds(milliseconds), CreateNewProcessGroup = Windows };

    /// <summary>Every reader, each on a fresh child: gets end-of-file after the drain time, with what was written.</summary>
    [Theory]
    [InlineData("StandardOutput.ReadToEnd")]
    [InlineData("StandardOutput.ReadToEndAsync")]
    [InlineData("ReadAllText")]
    [InlineData("ReadAllTextAsync")]
    [InlineData("ReadAllBytes")]
    [InlineData("ReadAllBytesAsync")]
    [InlineData("ReadAllLines")]
    [InlineData("ReadAllLinesAsync")]
    [InlineData("BeginOutputReadLine, BeginErrorReadLine, WaitForExit")]
    public async Task EveryReader_GetsEndOfFile_AfterTheDrainTimeout_WithWhatWasWritten(string reader)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || Windows, "a shell that leaves a grandchild");
        string mark = Guid.NewGuid().ToString("N");
        using ChildProcess child = ChildProcess.Start(LeavesAGrandchild(mark), Drain(500));
        try
        {
            var clock = Stopwatch.StartNew();
            Task<string> reading = Read(child, reader);
            Assert.True(await Task.WhenAny(reading, Task.Delay(30_000, TestContext.Current.CancellationToken)) == reading, "the reader still waits for the grandchild");
            Assert.Contains("hi", await reading);
            Assert.True(child.HasExited);
            Assert.True(child.OutputTruncated);
            Assert.True(clock.ElapsedMilliseconds >= 300, $"ended after {clock.ElapsedMilliseconds} ms, before the drain time (500 ms after the exit)");
            if (!reader.StartsWith("StandardOutput", StringComparison.Ordinal))
                Assert.Contains("err", await reading);
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            CleanupMarked(mark);
        }
    }

    private static Task<string> Read(ChildProcess child, string reader) => reader switch
    {
        "StandardOutput.ReadToEnd" => Task.Run(() => child.StandardOutput.ReadToEnd()),
        "StandardOutput.ReadToEndAsync" => child.StandardOutput.ReadToEndAsync(),
        "ReadAllText" => Task.Run(() => string.Join("|", child.ReadAllText().ToTuple())),
        "ReadAllTextAsync" => child.ReadAllTextAsync().ContinueWith(t => string.Join("|", t.Result.ToTuple())),
        "ReadAllBytes" => Task.Run(() => Bytes(child.ReadAllBytes())),
        "ReadAllBytesAsync" => child.ReadAllBytesAsync().ContinueWith(t => Bytes(t.Result)),
        "ReadAllLines" => Task.Run(() => string.Join("|", child.ReadAllLines().Select(l => l.Content))),
        "ReadAllLinesAsync" => LinesAsync(child),
        "BeginOutputReadLine, BeginErrorReadLine, WaitForExit" => Events(child),
        _ => throw new ArgumentException(reader),
    };

    /// <summary>The event-driven reading: WaitForExit() returns once both streams have ended, which the drain ends.</summary>
    private static Task<string> Events(ChildProcess child)
    {
        var lines = new System.Collections.Generic.List<string>();
        void Add(object sender, DataReceivedEventArgs e)
        {
            if (e.Data != null)
                lock (lines)
                    lines.Add(e.Data);
        }
        child.OutputDataReceived += Add;
        child.ErrorDataReceived += Add;
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        return Task.Run(() =>
        {
            child.WaitForExit();
            lock (lines)
                return string.Join("|", lines);
        });
    }

    private static async Task<string> LinesAsync(ChildProcess child)
    {
        var lines = new System.Collections.Generic.List<string>();
        await foreach (ChildProcessOutputLine line in child.ReadAllLinesAsync())
            lines.Add(line.Content);
        return string.Join("|", lines);
    }

    private static string Bytes((byte[] Output, byte[] Error) bytes) => Encoding.UTF8.GetString(bytes.Output) + "|" + Encoding.UTF8.GetString(bytes.Error);

    /// <summary>RunAndCaptureText with the options: the result comes after the drain time, with the text.</summary>
    [Fact]
    public async Task RunAndCaptureText_WithADrainTimeout_Returns()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the grandchild is found by its environment to end it (Windows: EveryReader covers the drain)");
        string mark = Guid.NewGuid().ToString("N");
        try
        {
            ChildProcessTextOutput result = ChildProcess.RunAndCaptureText(LeavesAGrandchild(mark), Drain(300), TimeSpan.FromSeconds(60));
            Assert.Equal(("hi\n", "err\n", 0, false), (result.StandardOutput, result.StandardError, result.ExitStatus.ExitCode, result.ExitStatus.Canceled));
            ChildProcessTextOutput fromAsync = await ChildProcess.RunAndCaptureTextAsync(LeavesAGrandchild(mark), Drain(300), TestContext.Current.CancellationToken);
            Assert.Equal(("hi\n", "err\n", 0), (fromAsync.StandardOutput, fromAsync.StandardError, fromAsync.ExitStatus.ExitCode));
        }
        finally
        {
            CleanupMarked(mark);
        }
    }

    /// <summary>Once cut, our end of the pipe is closed: the grandchild's pipe is no longer among our descriptors.</summary>
    [Fact]
    public void TheCutPipe_IsClosedOnOurSide()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "descriptors are read from /proc");
        string mark = Guid.NewGuid().ToString("N");
        using ChildProcess child = ChildProcess.Start(LeavesAGrandchild(mark), Drain(200));
        try
        {
            child.ReadAllText();
            int grandchild = ProcessMarks.Find(Mark, mark).Single();
            string pipe = new FileInfo($"/proc/{grandchild}/fd/1").LinkTarget!;
            Assert.StartsWith("pipe:", pipe);
            Assert.DoesNotContain(pipe, Observe.OwnDescriptorTargets());
        }
        finally
        {
            CleanupMarked(mark);
        }
    }

    /// <summary>
    /// Without a drain timeout, readers wait while the grandchild holds the pipes, as Process's do (the same script through
    /// both, a bounded look after the child's exit), and get everything once it has gone.
    /// </summary>
    [Fact]
    public async Task WithoutADrainTimeout_ReadersWaitForTheGrandchild_AsProcesssDo()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the grandchild is found by its environment to end it");
        string mark = Guid.NewGuid().ToString("N");
        using ChildProcess child = ChildProcess.Start(LeavesAGrandchild(mark), new ChildProcessOptions { OutputDrainTimeout = null });
        using Process process = Process.Start(LeavesAGrandchild(mark))!;
        try
        {
            Task<(string, string)> ours = child.ReadAllTextAsync(TestContext.Current.CancellationToken);
            Task<string> theirs = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            child.WaitForExit();
            process.WaitForExit();
            await Task.Delay(1500, TestContext.Current.CancellationToken);
            Assert.False(ours.IsCompleted, "ChildProcess's reader ended while the grandchild holds the pipe");
            Assert.False(theirs.IsCompleted, "Process's reader ended while the grandchild holds the pipe");
            CleanupMarked(mark);
            Assert.Equal(("hi\n", "err\n"), await ours.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.Equal("hi\n", await theirs.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.False(child.OutputTruncated);
        }
        finally
        {
            CleanupMarked(mark);
        }
    }

    /// <summary>With nothing holding the pipes, nothing is cut: the output read after the drain time is whole (Unix: data
    /// still in the pipe is read at once).</summary>
    [Fact]
    public void NothingIsCut_WhenNothingHoldsThePipes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "a read after the time is up gets the data still in the pipe on Unix only");
        using ChildProcess child = ChildProcess.Start(OutAndErr(), Drain(50));
        child.WaitForExit();
        Thread.Sleep(300);
        Assert.Equal(("out\n", "err\n"), child.ReadAllText());
        Assert.False(child.OutputTruncated);
    }

    [Fact]
    public void BadDrainTimeouts_AreRefused_AndInfiniteIsNone()
    {
        Assert.Throws<ArgumentOutOfRangeException>("options", () => ChildProcess.Start(OutAndErr(), new ChildProcessOptions { OutputDrainTimeout = TimeSpan.FromMilliseconds(-2) }));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => ChildProcess.Start(OutAndErr(), new ChildProcessOptions { OutputDrainTimeout = TimeSpan.FromDays(30) }));
        using ChildProcess child = ChildProcess.Start(OutAndErr(), new ChildProcessOptions { OutputDrainTimeout = Timeout.InfiniteTimeSpan });
        (string output, string error) = child.ReadAllText();
        Assert.Equal(("out", "err"), (output.Trim(), error.Trim()));
        Assert.False(child.OutputTruncated);
    }

    private static void CleanupMarked(string mark)
    {
        if (OperatingSystem.IsLinux())
            ProcessMarks.Kill(ProcessMarks.Find(Mark, mark));
    }
}
