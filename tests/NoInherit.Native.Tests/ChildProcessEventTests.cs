using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// Process's event-driven reading (BeginOutputReadLine, BeginErrorReadLine, their events and Cancel*Read) and its Exited
/// event on ChildProcess: each case runs the same program the same way through Process and through ChildProcess and
/// compares what each raised, threw or waited for.
/// </summary>
public class ChildProcessEventTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Process and ChildProcess, driven alike: what a case needs of either.</summary>
    private abstract class Side : IDisposable
    {
        internal readonly List<string?> Output = new(), Error = new();
        internal int ExitedCount;
        internal object? ExitedSender;

        internal abstract object Target { get; }
        internal abstract void BeginOutputReadLine();
        internal abstract void BeginErrorReadLine();
        internal abstract void CancelOutputRead();
        internal abstract void CancelErrorRead();
        internal abstract object StandardOutput { get; }
        internal abstract object StandardError { get; }
        internal abstract void WriteLine(string line);
        internal abstract bool WaitForExit(int milliseconds);
        internal abstract void WaitForExit();
        internal abstract Task WaitForExitAsync();
        internal abstract bool HasExited { get; }
        internal abstract bool EnableRaisingEvents { get; set; }
        internal abstract int Id { get; }
        public abstract void Dispose();

        internal List<string?> OutputNow() { lock (Output) return [.. Output]; }

        protected void OnOutput(string? line) { lock (Output) Output.Add(line); }

        protected void OnError(string? line) { lock (Error) Error.Add(line); }

        protected void OnExited(object? sender)
        {
            ExitedSender = sender;
            Interlocked.Increment(ref ExitedCount);
        }
    }

    private sealed class Theirs : Side
    {
        private readonly Process _p;

        internal Theirs(ProcessStartInfo start)
        {
            _p = Process.Start(start)!;
            _p.OutputDataReceived += (_, e) => OnOutput(e.Data);
            _p.ErrorDataReceived += (_, e) => OnError(e.Data);
            _p.Exited += (sender, _) => OnExited(sender);
        }

        internal override object Target => _p;
        internal override void BeginOutputReadLine() => _p.BeginOutputReadLine();
        internal override void BeginErrorReadLine() => _p.BeginErrorReadLine();
        internal override void CancelOutputRead() => _p.CancelOutputRead();
        internal override void CancelErrorRead() => _p.CancelErrorRead();
        internal override object StandardOutput => _p.StandardOutput;
        internal override object StandardError => _p.StandardError;
        internal override void WriteLine(string line) { _p.StandardInput.WriteLine(line); _p.StandardInput.Flush(); }
        internal override bool WaitForExit(int milliseconds) => _p.WaitForExit(milliseconds);
        internal override void WaitForExit() => _p.WaitForExit();
        internal override Task WaitForExitAsync() => _p.WaitForExitAsync();
        internal override bool HasExited => _p.HasExited;
        internal override bool EnableRaisingEvents { get => _p.EnableRaisingEvents; set => _p.EnableRaisingEvents = value; }
        internal override int Id => _p.Id;
        public override void Dispose() => _p.Dispose();
    }

    private sealed class Ours : Side
    {
        private readonly ChildProcess _c;

        internal Ours(ProcessStartInfo start)
        {
            _c = ChildProcess.Start(start);
            _c.OutputDataReceived += (_, e) => OnOutput(e.Data);
            _c.ErrorDataReceived += (_, e) => OnError(e.Data);
            _c.Exited += (sender, _) => OnExited(sender);
        }

        internal override object Target => _c;
        internal override void BeginOutputReadLine() => _c.BeginOutputReadLine();
        internal override void BeginErrorReadLine() => _c.BeginErrorReadLine();
        internal override void CancelOutputRead() => _c.CancelOutputRead();
        internal override void CancelErrorRead() => _c.CancelErrorRead();
        internal override object StandardOutput => _c.StandardOutput;
        internal override object StandardError => _c.StandardError;
        internal override void WriteLine(string line) => _c.StandardInput.WriteLine(line);
        internal override bool WaitForExit(int milliseconds) => _c.WaitForExit(milliseconds);
        internal override void WaitForExit() => _c.WaitForExit();
        internal override Task WaitForExitAsync() => _c.WaitForExitAsync();
        internal override bool HasExited => _c.HasExited;
        internal override bool EnableRaisingEvents { get => _c.EnableRaisingEvents; set => _c.EnableRaisingEvents = value; }
        internal override int Id => _c.Id;
        public override void Dispose() => _c.Dispose();
    }

    /// <summary>Runs <paramref name="scenario"/> on a Process and on a ChildProcess of <paramref name="start"/>; returns what each gave.</summary>
    private static (T Theirs, T Ours) Both<T>(Func<ProcessStartInfo> start, Func<Side, T> scenario)
    {
        T theirs, ours;
        using (var side = new Theirs(start()))
            theirs = scenario(side);
        using (var side = new Ours(start()))
            ours = scenario(side);
        return (theirs, ours);
    }

    private static string Result(Action action)
    {
        try
        {
            action();
            return "ok";
        }
        catch (ObjectDisposedException)
        {
            return "ObjectDisposedException"; // its message names the type: Process's or ours
        }
        catch (Exception e)
        {
            return $"{e.GetType().Name}: {e.Message}";
        }
    }

    private static string Show(IEnumerable<string?> lines) => string.Join("|", lines.Select(l => l is null ? "<null>" : $"[{l}]"));

    public static TheoryData<string, string> Outputs() => new()
    {
        { "every line end, last line without one", @"printf 'a\nb\r\nc\rd'; printf 'e1\r\ne2' >&2" },
        { "nothing", "true" },
        { "empty lines", @"printf '\n\n\r\n'; printf '\n' >&2" },
        { "a CR and its LF in two writes", @"printf 'x\r'; sleep 0.2; printf '\ny\n'" },
        { "a line longer than the buffers", "head -c 20000 /dev/zero | tr '\\0' x; echo; echo end" },
        { "UTF-8, a character split between two writes", @"printf 'caf\303\251\n\342\202'; sleep 0.2; printf '\254!\n'" },
        { "both streams, many lines", "seq 1 2000; seq 1 500 >&2" },
    };

    [Theory]
    [MemberData(nameof(Outputs))]
    public void Lines_AreThoseProcessRaises(string what, string script)
    {
        Assert.SkipWhen(Windows, "the bytes are written with sh's printf");
        ProcessStartInfo Start() => new("/bin/sh") { ArgumentList = { "-c", script }, RedirectStandardOutput = true, RedirectStandardError = true };
        var (theirs, ours) = Both(Start, side =>
        {
            side.BeginOutputReadLine();
            side.BeginErrorReadLine();
            side.WaitForExit();
            return (Show(side.Output), Show(side.Error));
        });
        Assert.Equal(theirs, ours);
        Assert.EndsWith("<null>", ours.Item1); // and so each ended once, with null
        Assert.Equal(1, ours.Item1.Split("<null>").Length - 1);
        _ = what; // names the case
    }

    [Fact]
    public void Lines_OfAShell_AreThoseProcessRaises_OnEverySystem()
    {
        var (theirs, ours) = Both(() => Shell("echo one; echo two >&2; echo three", "echo one& echo two>&2& echo three", capture: true), side =>
        {
            side.BeginErrorReadLine();
            side.BeginOutputReadLine();
            side.WaitForExit();
            return (Show(side.Output), Show(side.Error));
        });
        Assert.Equal(("[one]|[three]|<null>", "[two]|<null>"), ours);
        Assert.Equal(theirs, ours);
    }

    public static TheoryData<string> Misuses() => new()
    {
        "reader, then events", "events, then reader", "events twice", "cancel without events", "cancel, then events twice",
        "events, not redirected", "events after Dispose", "cancel after Dispose", "events, Dispose, events", "events, Dispose, cancel",
        "error: reader, then events", "error: events twice", "error: not redirected", "error: cancel without events",
    };

    [Theory]
    [MemberData(nameof(Misuses))]
    public void Misuse_ThrowsWhatProcessThrows(string misuse)
    {
        bool redirect = !misuse.EndsWith("not redirected", StringComparison.Ordinal);
        var (theirs, ours) = Both(() => Shell("exit 0", "exit 0", capture: redirect), side =>
        {
            var steps = new List<string>();
            void Step(Action action) => steps.Add(Result(action));
            switch (misuse)
            {
                case "reader, then events": Step(() => _ = side.StandardOutput); Step(side.BeginOutputReadLine); break;
                case "events, then reader": Step(side.BeginOutputReadLine); Step(() => _ = side.StandardOutput); break;
                case "events twice": Step(side.BeginOutputReadLine); Step(side.BeginOutputReadLine); break;
                case "cancel without events": Step(side.CancelOutputRead); break;
                case "cancel, then events twice": Step(side.BeginOutputReadLine); Step(side.CancelOutputRead); Step(side.CancelOutputRead); Step(side.BeginOutputReadLine); Step(side.BeginOutputReadLine); break;
                case "events, not redirected": Step(side.BeginOutputReadLine); Step(side.BeginOutputReadLine); Step(() => _ = side.StandardOutput); break;
                case "events after Dispose": side.Dispose(); Step(side.BeginOutputReadLine); break;
                case "cancel after Dispose": side.Dispose(); Step(side.CancelOutputRead); break;
                case "events, Dispose, events": Step(side.BeginOutputReadLine); side.Dispose(); Step(side.BeginOutputReadLine); break;
                case "events, Dispose, cancel": Step(side.BeginOutputReadLine); side.Dispose(); Step(side.CancelOutputRead); break;
                case "error: reader, then events": Step(() => _ = side.StandardError); Step(side.BeginErrorReadLine); Step(() => _ = side.StandardError); break;
                case "error: events twice": Step(side.BeginErrorReadLine); Step(side.BeginErrorReadLine); Step(() => _ = side.StandardError); break;
                case "error: not redirected": Step(side.BeginErrorReadLine); Step(side.CancelErrorRead); break;
                case "error: cancel without events": Step(side.CancelErrorRead); break;
                default: throw new ArgumentException(misuse);
            }
            if (!misuse.Contains("Dispose", StringComparison.Ordinal))
                side.WaitForExit(30_000);
            return string.Join(" / ", steps);
        });
        Assert.Equal(theirs, ours);
        Assert.Contains("Exception", ours); // each misuse is refused somewhere
    }

    [Fact]
    public void ReadAll_AfterTheEvents_IsRefused_AsDotNet11RefusesIt()
    {
        using ChildProcess child = ChildProcess.Start(OutAndErr());
        child.BeginErrorReadLine();
        string ours = Result(() => child.ReadAllText());
        Assert.Equal("InvalidOperationException: Cannot mix synchronous and asynchronous operation on process stream.", ours);
        child.WaitForExit();
        if (Net11.Available)
        {
            using Process process = Process.Start(OutAndErr())!;
            process.BeginErrorReadLine();
            string theirs = Result(() => Net11.Call(typeof(Process), process, "ReadAllText", [typeof(TimeSpan?)], (TimeSpan?)null));
            Assert.Equal(theirs, ours);
            process.WaitForExit();
        }
    }

    [Fact]
    public void CancelThenBegin_DropsTheLinesBetween_AsProcessDoes()
    {
        Assert.SkipWhen(Windows, "the child is paced through its standard input with sh's read");
        // Each line is written after a line of input; the child marks on standard error (read throughout) that it has
        // written the line before it, and the test then gives our reading a second to take it in.
        ProcessStartInfo Start() => new("/bin/sh")
        {
            ArgumentList = { "-c", "for w in one two three; do read x; echo $w; echo $w >&2; done" },
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        var (theirs, ours) = Both(Start, side =>
        {
            side.BeginOutputReadLine();
            side.BeginErrorReadLine();
            void Next(int marks)
            {
                side.WriteLine("");
                Assert.True(SpinWait.SpinUntil(() => { lock (side.Error) return side.Error.Count >= marks; }, Patience));
                Thread.Sleep(1000);
            }
            Next(1);
            side.CancelOutputRead();
            Next(2);
            side.BeginOutputReadLine();
            side.WriteLine("");
            side.WaitForExit();
            return Show(side.Output);
        });
        Assert.Equal("[one]|[three]|<null>", ours);
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public void WaitForExit_WaitsForTheEventsToEnd_OnlyWithoutATimeout_AsProcessDoes()
    {
        Assert.SkipWhen(Windows, "a grandchild keeps the output open, started with sh's &");
        // The child exits at once; a grandchild holds its output open until it gets a line of input (through 3: sh gives
        // a background list /dev/null as its standard input).
        ProcessStartInfo Start() => new("/bin/sh")
        {
            ArgumentList = { "-c", "exec 3<&0; echo a; (read x <&3; echo b) &" },
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (bool async in new[] { false, true })
        {
            var (theirs, ours) = Both(Start, side =>
            {
                side.BeginOutputReadLine();
                bool exited = side.WaitForExit(30_000);
                List<string?> atExit = side.OutputNow();
                Task wait = async ? side.WaitForExitAsync() : Task.Run(side.WaitForExit);
                bool endedBefore = wait.Wait(300);
                side.WriteLine("");
                Assert.True(wait.Wait(Patience));
                return $"exited {exited}; at the exit: no b, no end: {!atExit.Contains("b") && !atExit.Contains(null)}; " +
                    $"the full wait ended before the output did: {endedBefore}; then: {Show(side.Output)}";
            });
            Assert.Equal("exited True; at the exit: no b, no end: True; the full wait ended before the output did: False; then: [a]|[b]|<null>", ours);
            Assert.Equal(theirs, ours);
        }
    }

    [Fact]
    public void Exited_IsRaisedWhenAndAsOftenAsProcessRaisesIt()
    {
        ProcessStartInfo Quick() => Shell("exit 3", "exit 3");
        bool Eventually(Side side, int count) => SpinWait.SpinUntil(() => Volatile.Read(ref side.ExitedCount) >= count, Patience);

        // Enabled before the exit, no wait: raised once, by the exit itself, with the object as sender.
        var enabled = Both(Quick, side =>
        {
            side.EnableRaisingEvents = true;
            bool raised = Eventually(side, 1);
            Thread.Sleep(200);
            return $"{raised} {side.ExitedCount} sender is the object: {ReferenceEquals(side.ExitedSender, side.Target)}";
        });
        Assert.Equal("True 1 sender is the object: True", enabled.Ours);
        Assert.Equal(enabled.Theirs, enabled.Ours);

        // Not enabled: a wait raises nothing; HasExited finding the exit does, once; ExitCode after it nothing more.
        var notEnabled = Both(Quick, side =>
        {
            side.WaitForExit();
            Thread.Sleep(200);
            int afterWait = side.ExitedCount;
            bool exited = side.HasExited;
            _ = side.HasExited;
            return $"{afterWait} {exited} {side.ExitedCount} {side.EnableRaisingEvents}";
        });
        Assert.Equal("0 True 1 False", notEnabled.Ours);
        Assert.Equal(notEnabled.Theirs, notEnabled.Ours);

        // Enabled after the exit: raised then. WaitForExitAsync enables it.
        var late = Both(Quick, side =>
        {
            side.WaitForExit();
            side.EnableRaisingEvents = true;
            return $"{Eventually(side, 1)} {side.ExitedCount}";
        });
        Assert.Equal("True 1", late.Ours);
        Assert.Equal(late.Theirs, late.Ours);
        var byAsyncWait = Both(Quick, side =>
        {
            side.WaitForExitAsync().Wait(Patience);
            return $"{side.EnableRaisingEvents} {Eventually(side, 1)} {side.ExitedCount}";
        });
        Assert.Equal("True True 1", byAsyncWait.Ours);
        Assert.Equal(byAsyncWait.Theirs, byAsyncWait.Ours);

        // Enabled, then disabled before the exit: not raised by the exit. Disposed before the exit: never raised.
        var disabled = Both(SleepsASecond, side =>
        {
            side.EnableRaisingEvents = true;
            side.EnableRaisingEvents = false;
            side.WaitForExit();
            Thread.Sleep(300);
            return side.ExitedCount;
        });
        Assert.Equal(0, disabled.Ours);
        Assert.Equal(disabled.Theirs, disabled.Ours);
        var disposed = Both(SleepsASecond, side =>
        {
            side.EnableRaisingEvents = true;
            int id = side.Id;
            side.Dispose();
            Assert.True(GoneWithin(id, 30_000));
            Thread.Sleep(300);
            return side.ExitedCount;
        });
        Assert.Equal(0, disposed.Ours);
        Assert.Equal(disposed.Theirs, disposed.Ours);
    }
}
