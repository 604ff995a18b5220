using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// A program on a pseudo-terminal, with a reader that collects everything the terminal shows until it ends, and waits
/// for the text a test expects (a prompt, an answer). Disposing kills the child if it is still running.
/// </summary>
internal sealed class TerminalSession : IDisposable
{
    private const int TimeoutMs = 20_000;
    private readonly List<byte> _bytes = new();
    private readonly Task _reader;
    private int _searchFrom;

    internal TerminalSession(ProcessStartInfo startInfo, PseudoTerminalSize size)
    {
        Child = ChildProcess.Start(startInfo, new ChildProcessOptions { PseudoTerminal = size });
        _reader = Task.Factory.StartNew(ReadAll, TaskCreationOptions.LongRunning);
    }

    internal static TerminalSession Start(string program, params string[] arguments) => Start(new PseudoTerminalSize(80, 24), program, arguments);

    internal static TerminalSession Start(PseudoTerminalSize size, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program);
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        return new TerminalSession(start, size);
    }

    internal ChildProcess Child { get; }

    /// <summary>Everything the terminal has shown so far.</summary>
    internal string Text
    {
        get
        {
            lock (_bytes)
                return Encoding.UTF8.GetString(_bytes.ToArray());
        }
    }

    /// <summary>Waits until <paramref name="expected"/> appears after the previous match; returns the text up to its end.</summary>
    internal string WaitFor(string expected)
    {
        long deadline = Environment.TickCount64 + TimeoutMs;
        while (true)
        {
            string text = Text;
            int at = text.IndexOf(expected, _searchFrom, StringComparison.Ordinal);
            if (at >= 0)
            {
                _searchFrom = at + expected.Length;
                return text[.._searchFrom];
            }
            if (_reader.IsCompleted || Environment.TickCount64 >= deadline)
                Assert.Fail($"'{Escape(expected)}' did not appear ({(_reader.IsCompleted ? "the output ended" : "timed out")}); the terminal showed: '{Escape(text)}'{Processes()}");
            Thread.Sleep(10);
        }
    }

    /// <summary>Types <paramref name="keys"/> (UTF-8).</summary>
    internal void Send(string keys) => Child.Terminal.Write(Encoding.UTF8.GetBytes(keys));

    /// <summary>Waits for the output to end (a read of 0 bytes) and returns all of it.</summary>
    internal string ReadToEnd()
    {
        if (!_reader.Wait(TimeoutMs))
            Assert.Fail($"the terminal's output did not end; it showed: '{Escape(Text)}'{Processes()}");
        _reader.GetAwaiter().GetResult(); // a read that threw fails the test here
        return Text;
    }

    internal static string Escape(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n").Replace("\x1b", "\\e");

    /// <summary>
    /// The child and its descendants as Linux shows them (group, the terminal's foreground group, signals pending,
    /// blocked, ignored and caught), for a failed wait's message: it tells a signal never sent from one not taken.
    /// </summary>
    private string Processes()
    {
        if (!OperatingSystem.IsLinux())
            return "";
        var text = new StringBuilder("; the processes:");
        var next = new Queue<int>();
        next.Enqueue(Child.Id);
        while (next.Count > 0)
        {
            int pid = next.Dequeue();
            try
            {
                string[] fields = ChildPrograms.StatFields(pid);
                IEnumerable<string> status = File.ReadLines($"/proc/{pid}/status")
                    .Where(line => line.StartsWith("Name", StringComparison.Ordinal) || line.StartsWith("Sig", StringComparison.Ordinal) ||
                                   line.StartsWith("ShdPnd", StringComparison.Ordinal))
                    .Select(line => line.Replace("\t", " "));
                text.Append($" [{pid}: state {fields[2]}, group {fields[4]}, foreground {fields[7]}, {string.Join(", ", status)}]");
                foreach (string child in File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    next.Enqueue(int.Parse(child, System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                text.Append($" [{pid} gone]");
            }
        }
        return text.ToString();
    }

    private void ReadAll()
    {
        var buffer = new byte[4096];
        int count;
        while ((count = Child.Terminal.Read(buffer, 0, buffer.Length)) > 0)
        {
            lock (_bytes)
                _bytes.AddRange(buffer.AsSpan(0, count).ToArray());
        }
    }

    public void Dispose()
    {
        if (!Child.HasExited)
            Child.Kill();
        Child.WaitForExit(TimeoutMs);
        _reader.Wait(TimeoutMs); // the output ends once nothing holds the terminal
        Child.Dispose();
    }
}
