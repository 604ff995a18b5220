using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// `noinherit record`, run as a real process on a real command: the asciicast v2 file it writes (a header line, then
/// [time, "o", text] events whose text, put together, is exactly what the command showed, with their timings), what it
/// shows meanwhile, and its exit code.
/// </summary>
public class RecordToolTests
{
    [Fact]
    public void Record_WritesAsciicastV2_WithTheOutputAndItsTimings_AndExitsWithTheCommandsCode()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the recorded command is a POSIX shell script (sh, stty): Linux only here");
        using var dir = new TempDirectory();
        string cast = dir.Combine("session.cast");
        long startedAt = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        (int exit, string shown) = ToolTests.RunTool("record", "-o", cast, "--", "sh", "-c",
            "sleep 0.5; [ -t 0 ] && [ -t 1 ] && echo on a tty; stty size; sleep 1; printf '\\303\\251t\\303\\251 %s\\n' \"$0\"; exit 3", "arg0");
        Assert.Equal(3, exit);

        string[] lines = File.ReadAllLines(cast);
        Assert.True(lines.Length >= 3, $"too few lines:\n{string.Join('\n', lines)}");
        using (JsonDocument header = JsonDocument.Parse(lines[0]))
        {
            JsonElement h = header.RootElement;
            Assert.Equal(2, h.GetProperty("version").GetInt32());
            // The tool's output is not a terminal here, so the command gets 80x24, and stty says so.
            Assert.Equal(80, h.GetProperty("width").GetInt32());
            Assert.Equal(24, h.GetProperty("height").GetInt32());
            Assert.InRange(h.GetProperty("timestamp").GetInt64(), startedAt - 1, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            Assert.Equal(JsonValueKind.Object, h.GetProperty("env").ValueKind);
            Assert.Equal(JsonValueKind.String, h.GetProperty("env").GetProperty("TERM").ValueKind);
        }

        var text = new StringBuilder();
        var times = new List<double>();
        double lateAt = -1, firstAt = -1;
        foreach (string line in lines.Skip(1))
        {
            using JsonDocument e = JsonDocument.Parse(line);
            JsonElement[] fields = e.RootElement.EnumerateArray().ToArray();
            Assert.Equal(3, fields.Length);
            Assert.Equal("o", fields[1].GetString());
            double time = fields[0].GetDouble();
            string data = fields[2].GetString()!;
            times.Add(time);
            if (firstAt < 0)
                firstAt = time;
            if (data.Contains("été"))
                lateAt = time;
            text.Append(data);
        }
        Assert.Equal(times.OrderBy(t => t), times);
        // An event is stamped when the tool reads it: the first sleep lets the tool start reading (under load it may
        // start late), so that the second shows the 1 s pause (less a margin for a busy machine).
        Assert.True(firstAt >= 0 && lateAt - firstAt >= 0.8, $"the events' times do not show the 1 s pause: {string.Join(", ", times)}");
        Assert.Equal("on a tty\r\n24 80\r\nété arg0\r\n", text.ToString());
        // What the tool showed is what it recorded.
        Assert.Equal(text.ToString(), shown);
    }

    /// <summary>
    /// The tool itself on a terminal of ours (as a user runs it): the recording takes that terminal's size, the keys typed
    /// reach the command (the tool's terminal in raw mode, so Enter arrives as \r and the command's terminal turns it into
    /// a newline), a resize of the tool's terminal resizes the command's and is recorded as an "r" event, and the tool's
    /// terminal is back in its mode (echo on) once the tool is done.
    /// </summary>
    [Fact]
    public void Record_OnATerminal_TakesItsSize_ForwardsKeys_AndFollowsResizes()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the recorded command is a POSIX shell script (sh, stty): Linux only here");
        using var dir = new TempDirectory();
        string cast = dir.Combine("session.cast");
        var start = new ProcessStartInfo("sh") { ArgumentList = { "-c", "dotnet \"$@\"; echo tool exited $?; stty -a", "sh", ToolTests.ToolPath(),
            "record", "-o", cast, "--", "sh", "-c", "stty size; read line; echo \"got $line\"; read line; stty size; exit 4" } };
        using var session = new TerminalSession(start, new PseudoTerminalSize(100, 30));
        session.WaitFor("30 100\r\n");
        session.Send("abc\r");
        session.WaitFor("got abc\r\n");
        string before = session.Text;
        session.Child.ResizeTerminal(120, 40);
        // The tool learns of it by SIGWINCH: wait for the "r" event before asking the command.
        SpinWait.SpinUntil(() => File.ReadAllText(cast).Contains("\"r\""), 10_000);
        session.Send("\r");
        session.WaitFor("40 120\r\n");
        session.WaitFor("tool exited 4\r\n");
        string after = session.ReadToEnd();
        Assert.Matches(@"(^|[ ;])echo([ ;]|$)", after[after.IndexOf("tool exited 4", StringComparison.Ordinal)..]); // stty -a: echo, not -echo
        Assert.DoesNotContain("abc\r\nabc", before); // typed keys echoed once (by the command's terminal), not twice

        string[] lines = File.ReadAllLines(cast);
        using (JsonDocument header = JsonDocument.Parse(lines[0]))
        {
            Assert.Equal(100, header.RootElement.GetProperty("width").GetInt32());
            Assert.Equal(30, header.RootElement.GetProperty("height").GetInt32());
        }
        Assert.Contains(lines, line => line.EndsWith(",\"r\",\"120x40\"]", StringComparison.Ordinal));
    }

    [Fact]
    public void Record_WithoutACommand_OrWithAnUnknownOption_Fails()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the tool runs as a framework-dependent app of the host's dotnet: Linux only here");
        using var dir = new TempDirectory();
        (int exit, string output) = ToolTests.RunTool("record", "-o", dir.Combine("x.cast"));
        Assert.Equal(1, exit);
        Assert.Contains("no command", output);
        (exit, output) = ToolTests.RunTool("record", "--bogus", "--", "true");
        Assert.Equal(1, exit);
        Assert.Contains("--bogus", output);
        Assert.False(File.Exists(dir.Combine("x.cast")));
    }
}
