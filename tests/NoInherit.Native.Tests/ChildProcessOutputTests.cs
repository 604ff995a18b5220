using System;
using System.Collections.Generic;
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
/// ReadAllText, ReadAllBytes, ReadAllLines and their async forms: both streams read at once, to their ends, without
/// deadlock; lines in arrival order (the synchronous form too, unlike .NET 11's); .NET 11's rules and messages.
/// </summary>
public class ChildProcessOutputTests
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public void ReadAllText_GivesBothStreams_AsDotNet11Does()
    {
        using ChildProcess child = ChildProcess.Start(OutAndErr());
        (string output, string error) = child.ReadAllText();
        Assert.Equal(("out", "err"), (output.TrimEnd(), error.TrimEnd()));
        Assert.Equal(3, child.WaitForExitStatus().ExitCode);
        if (Net11.Available)
        {
            using Process theirs = Process.Start(OutAndErr())!;
            var text = ((string, string))Net11.Call(typeof(Process), theirs, "ReadAllText", [typeof(TimeSpan?)], (TimeSpan?)null)!;
            Assert.Equal(text, (output, error));
        }
    }

    [Fact]
    public async Task ReadAll_BothStreamsFull_NoDeadlock()
    {
        // The child writes 1 MiB to standard error, then 1 MiB to standard output: a reader of standard output to its end
        // first would wait for ever, the child blocked on the full standard error pipe (64 KiB on Linux). (cmd.exe gets
        // the paths unquoted: the temp path has no blank, and cmd does not read the quoting of an argv.)
        using var dir = new TempDirectory();
        File.WriteAllBytes(dir.Combine("o"), Enumerable.Repeat((byte)'o', 1 << 20).ToArray());
        File.WriteAllBytes(dir.Combine("e"), Enumerable.Repeat((byte)'e', 1 << 20).ToArray());
        ProcessStartInfo start = Shell($"cat '{dir.Combine("e")}' >&2; cat '{dir.Combine("o")}'", $"type {dir.Combine("e")}>&2& type {dir.Combine("o")}", capture: true);
        using (ChildProcess child = ChildProcess.Start(start))
        {
            (byte[] output, byte[] error) = child.ReadAllBytes(TimeSpan.FromSeconds(120));
            Assert.Equal((1 << 20, 1 << 20), (output.Count(b => b == (byte)'o'), error.Count(b => b == (byte)'e')));
        }
        using (ChildProcess child = ChildProcess.Start(start))
        {
            (string output, string error) = await child.ReadAllTextAsync(Token);
            Assert.Equal((1 << 20, 1 << 20), (output.Count(c => c == 'o'), error.Count(c => c == 'e')));
        }
        using (ChildProcess child = ChildProcess.Start(start))
            Assert.Equal(2, child.ReadAllLines(TimeSpan.FromSeconds(120)).Count());
        using (ChildProcess child = ChildProcess.Start(start))
        {
            (byte[] output, byte[] error) = await child.ReadAllBytesAsync(Token);
            Assert.Equal((1 << 20, 1 << 20), (output.Length, error.Length));
        }
    }

    [Fact]
    public async Task ReadAllBytes_GivesTheBytesAsWritten_AndText_DecodesWithTheStartInfosEncoding()
    {
        ProcessStartInfo start = Shell("printf '\\303\\251\\377'; printf '\\351' >&2", "", capture: true);
        Assert.SkipWhen(Windows, "the bytes are written with printf's escapes");
        using (ChildProcess child = ChildProcess.Start(start))
        {
            (byte[] output, byte[] error) = await child.ReadAllBytesAsync(Token);
            Assert.Equal(new byte[] { 0xC3, 0xA9, 0xFF }, output);
            Assert.Equal(new byte[] { 0xE9 }, error);
        }
        start.StandardErrorEncoding = Encoding.Latin1;
        using (ChildProcess child = ChildProcess.Start(start))
            Assert.Equal(("é\uFFFD", "é"), child.ReadAllText());
    }

    [Fact]
    public void ReadAllLines_SyncForm_GivesTheLinesInArrivalOrder()
    {
        Assert.SkipWhen(Windows, "the child waits for each line to be received with sh's read");
        // The child writes each line only once the one before has reached us (it waits for a line on its standard
        // input), so the arrival order is fixed however slow the machine; a reader that took one stream to its end
        // first would wait for ever here (and time out).
        ProcessStartInfo start = Shell("echo a; read x; echo b >&2; read x; echo c; read x; printf 'd\\r\\n\\ne' >&2", "", capture: true);
        start.RedirectStandardInput = true;
        var lines = new List<string>();
        using (ChildProcess child = ChildProcess.Start(start))
        {
            foreach (ChildProcessOutputLine line in child.ReadAllLines(TimeSpan.FromSeconds(60)))
            {
                lines.Add($"{line.Content}/{(line.StandardError ? "err" : "out")}");
                if (lines.Count <= 3)
                    child.StandardInput.WriteLine();
            }
        }
        Assert.Equal("a/out,b/err,c/out,d/err,/err,e/err", string.Join(",", lines));
        if (Net11.Available)
        {
            start = Shell("echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; sleep 0.2; printf 'd\\r\\n\\ne' >&2", "", capture: true);
            // .NET 11's synchronous form groups them by stream; ours does not.
            using Process theirs = Process.Start(start)!;
            var theirLines = (System.Collections.IEnumerable)Net11.Call(typeof(Process), theirs, "ReadAllLines", [typeof(TimeSpan?)], (TimeSpan?)null)!;
            Assert.StartsWith("a,c,", string.Join(",", theirLines.Cast<object>()));
        }
    }

    [Fact]
    public async Task ReadAllLinesAsync_GivesTheLinesInArrivalOrder()
    {
        // On Unix the child writes each line once the one before has reached us (as in the synchronous test above).
        ProcessStartInfo start = Windows ? OutAndErr() : Shell("echo a; read x; echo b >&2; read x; echo c", "", capture: true);
        start.RedirectStandardInput = !Windows;
        using ChildProcess child = ChildProcess.Start(start);
        var lines = new List<string>();
        await foreach (ChildProcessOutputLine line in child.ReadAllLinesAsync(Token))
        {
            lines.Add($"{line.Content}/{(line.StandardError ? "err" : "out")}");
            if (!Windows && lines.Count <= 2)
                await child.StandardInput.WriteLineAsync();
        }
        Assert.Equal(Windows ? "out/out,err/err" : "a/out,b/err,c/out", string.Join(",", Windows ? lines.OrderByDescending(l => l) : lines));
    }

    [Fact]
    public void ReadAll_Timeout_ThrowsTimeoutException_AndLeavesTheChildRunning()
    {
        ProcessStartInfo start = SleeperStartInfo();
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        using ChildProcess child = ChildProcess.Start(start);
        try
        {
            Assert.Throws<TimeoutException>(() => child.ReadAllText(TimeSpan.FromMilliseconds(200)));
            Assert.False(child.HasExited);
        }
        finally
        {
            child.Kill();
        }
        using ChildProcess lines = ChildProcess.Start(start);
        try
        {
            Assert.Throws<TimeoutException>(() => lines.ReadAllLines(TimeSpan.FromMilliseconds(200)).ToList());
        }
        finally
        {
            lines.Kill();
        }
    }

    [Fact]
    public async Task ReadAllAsync_Cancellation_ThrowsOperationCanceled()
    {
        ProcessStartInfo start = SleeperStartInfo();
        start.RedirectStandardOutput = start.RedirectStandardError = true;
        using ChildProcess child = ChildProcess.Start(start);
        try
        {
            using var cancel = new CancellationTokenSource(200);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => child.ReadAllTextAsync(cancel.Token));
        }
        finally
        {
            child.Kill();
        }
    }

    /// <summary>
    /// StandardOutput and StandardError are each one reader, as Process's are, although they are made when first asked
    /// for: two threads asking at once get the same, and it reads what the child wrote. A stream never asked for is still
    /// closed by Dispose: a child that goes on writing to it then dies of SIGPIPE (POSIX); and asked for after Dispose, the
    /// three standard streams throw ObjectDisposedException, as Process's do.
    /// </summary>
    [Fact]
    public void StandardOutputAndError_AreOneReaderEach_AndDisposeClosesThemUnasked()
    {
        for (int round = 0; round < 20; round++)
        {
            using ChildProcess child = ChildProcess.Start(OutAndErr());
            using var both = new Barrier(2);
            StreamReader? first = null, second = null, firstError = null, secondError = null;
            var other = new Thread(() => { both.SignalAndWait(Token); second = child.StandardOutput; secondError = child.StandardError; });
            other.Start();
            both.SignalAndWait(Token);
            first = child.StandardOutput;
            firstError = child.StandardError;
            other.Join();
            Assert.Same(first, second);
            Assert.Same(firstError, secondError);
            Assert.Same(first, child.StandardOutput);
            Assert.Equal("out", first.ReadToEnd().TrimEnd());
            Assert.Equal("err", firstError!.ReadToEnd().TrimEnd());
        }
        // After Dispose each of the three throws ObjectDisposedException, as Process's do, redirected or not.
        ProcessStartInfo all = OutAndErr();
        all.RedirectStandardInput = true;
        foreach (ProcessStartInfo startInfo in new[] { all, Exit(0) })
        {
            ChildProcess late = ChildProcess.Start(startInfo);
            late.WaitForExit();
            late.Dispose();
            Process process = Process.Start(startInfo)!;
            process.WaitForExit();
            process.Dispose();
            static string Kind(string outcome) => outcome.Split(':')[0];
            Assert.Equal(Kind(Outcome.Of(() => _ = process.StandardInput)), Kind(Outcome.Of(() => _ = late.StandardInput)));
            Assert.Equal(Kind(Outcome.Of(() => _ = process.StandardOutput)), Kind(Outcome.Of(() => _ = late.StandardOutput)));
            Assert.Equal(Kind(Outcome.Of(() => _ = process.StandardError)), Kind(Outcome.Of(() => _ = late.StandardError)));
            Assert.StartsWith("threw System.ObjectDisposedException", Outcome.Of(() => _ = late.StandardOutput));
        }
        if (OperatingSystem.IsWindows())
            return;
        var writer = new ProcessStartInfo("/bin/sh", ["-c", "while :; do echo x; done"]) { RedirectStandardOutput = true };
        ChildProcess unread = ChildProcess.Start(writer);
        int pid = unread.Id;
        unread.Dispose(); // its output never asked for
        Assert.True(GoneWithin(pid, 30_000), $"the writer {pid} still runs after its output was closed");
    }

    [Fact]
    public void ReadAll_NeedsBothStreamsRedirectedAndUnread_WithProcesssMessages()
    {
        ProcessStartInfo onlyOutput = Exit(0);
        onlyOutput.RedirectStandardOutput = true;
        using ChildProcess neither = ChildProcess.Start(Exit(0));
        using ChildProcess one = ChildProcess.Start(onlyOutput);
        using ChildProcess used = ChildProcess.Start(OutAndErr());
        _ = used.StandardOutput;
        string[] ours =
        {
            Outcome.Of(() => neither.ReadAllText()), Outcome.Of(() => one.ReadAllBytes()), Outcome.Of(() => used.ReadAllLines()),
        };
        Assert.Contains("StandardOut has not been redirected", ours[0]);
        Assert.Contains("StandardError has not been redirected.", ours[1]);
        Assert.Contains("Cannot mix synchronous and asynchronous operation on process stream.", ours[2]);
        // The asynchronous forms fault their task (ReadAllLinesAsync: its first MoveNextAsync), as .NET 11's do.
        Task<(string, string)> faulted = neither.ReadAllTextAsync(Token);
        Assert.True(faulted.IsFaulted);
        Assert.True(neither.ReadAllBytesAsync(Token).IsFaulted);
        IAsyncEnumerator<ChildProcessOutputLine> lines = neither.ReadAllLinesAsync(Token).GetAsyncEnumerator(Token);
        Assert.Throws<InvalidOperationException>(() => lines.MoveNextAsync().AsTask().GetAwaiter().GetResult());
        using ChildProcess twice = ChildProcess.Start(OutAndErr());
        twice.ReadAllText();
        Assert.Throws<InvalidOperationException>(() => twice.ReadAllText());
        twice.Dispose();
        Assert.Throws<ObjectDisposedException>(() => twice.ReadAllText());
        if (Net11.Available)
        {
            using Process pNeither = Process.Start(Exit(0))!;
            using Process pOne = Process.Start(onlyOutput)!;
            using Process pUsed = Process.Start(OutAndErr())!;
            _ = pUsed.StandardOutput;
            string[] theirs =
            {
                Outcome.Of(() => Net11.Call(typeof(Process), pNeither, "ReadAllText", [typeof(TimeSpan?)], (TimeSpan?)null)),
                Outcome.Of(() => Net11.Call(typeof(Process), pOne, "ReadAllBytes", [typeof(TimeSpan?)], (TimeSpan?)null)),
                Outcome.Of(() => Net11.Call(typeof(Process), pUsed, "ReadAllLines", [typeof(TimeSpan?)], (TimeSpan?)null)),
            };
            Assert.Equal(theirs, ours);
        }
    }
}
