using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>The noinherit command-line tool, run as a real process against real processes.</summary>
[Collection(nameof(SealCollection))]
public class ToolTests
{
    [Fact]
    public void Audit_OfAnotherProcess_ShowsWhatItInherited()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string leaked = dir.Combine("leaked"), ours = dir.Combine("ours");
        using SafeFileHandle inheritable = File.OpenHandle(leaked, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Inheritable);
        using SafeFileHandle kept = NoInheritFile.OpenHandle(ours, FileMode.Create, FileAccess.Write);
        using Process sleeper = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            (int exit, string output) = RunTool("audit", "--pid", sleeper.Id.ToString(), "--json");
            Assert.True(exit == 0, $"exit {exit}: {output}");
            using JsonDocument json = JsonDocument.Parse(output);
            Assert.Equal(sleeper.Id, json.RootElement.GetProperty("pid").GetInt32());
            List<JsonElement> entries = json.RootElement.GetProperty("inheritable").EnumerateArray().ToList();
            JsonElement file = Assert.Single(entries, e => e.GetProperty("target").GetString() == leaked);
            Assert.Equal((long)inheritable.DangerousGetHandle(), file.GetProperty("fd").GetInt64());
            Assert.Equal("RegularFile", file.GetProperty("kind").GetString());
            Assert.DoesNotContain(entries, e => e.GetProperty("target").GetString() == ours);

            (exit, output) = RunTool("audit", "--pid", sleeper.Id.ToString());
            Assert.Equal(0, exit);
            Assert.Contains($"process {sleeper.Id}:", output);
            Assert.Contains(leaked, output);
        }
        finally
        {
            sleeper.Kill();
            sleeper.WaitForExit();
        }
    }

    [Fact]
    public void Exec_PassesOnOnlyStdioAndKeptDescriptors()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string keptPath = dir.Combine("kept"), droppedPath = dir.Combine("dropped");
        using SafeFileHandle kept = File.OpenHandle(keptPath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Inheritable);
        using SafeFileHandle dropped = File.OpenHandle(droppedPath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Inheritable);
        int keptFd = (int)kept.DangerousGetHandle();

        // The tool inherits both (it is our child); its command must get only the kept one.
        (int exit, string output) = RunTool("exec", "--keep", keptFd.ToString(), "--", "/bin/sh", "-c",
            "for f in /proc/$$/fd/*; do printf '%s ' \"${f##*/}\"; readlink \"$f\"; done; exit 7");
        Assert.Equal(7, exit);
        Assert.Contains($"{keptFd} {keptPath}", output);
        Assert.DoesNotContain(droppedPath, output);

        (exit, output) = RunTool("exec", "--", "/bin/sh", "-c", "ls -l /proc/$$/fd");
        Assert.Equal(0, exit);
        Assert.DoesNotContain(keptPath, output);
        Assert.DoesNotContain(droppedPath, output);
        (exit, _) = RunTool("exec", "--keep", "x", "--", "true");
        Assert.Equal(1, exit);
        (exit, _) = RunTool("bogus");
        Assert.Equal(2, exit);
    }

    internal static (int ExitCode, string Output) RunTool(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(ToolPath());
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using Process tool = Process.Start(start)!;
        var stderr = tool.StandardError.ReadToEndAsync();
        string output = tool.StandardOutput.ReadToEnd();
        tool.WaitForExit();
        return (tool.ExitCode, output + stderr.Result);
    }

    // The tool's build output, found from the repository root above the test binaries.
    internal static string ToolPath()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "NoInherit.Native.sln")))
                continue;
            string bin = Path.Combine(dir.FullName, "tools", "NoInherit.Cli", "bin");
            // bin/<Configuration>/net10.0/noinherit.dll: the framework-dependent build, not a RID-specific one.
            string? tool = Directory.Exists(bin)
                ? Directory.EnumerateDirectories(bin).Select(c => Path.Combine(c, "net10.0", "noinherit.dll"))
                    .Where(File.Exists).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
                : null;
            return tool ?? throw new InvalidOperationException($"the noinherit tool is not built under {bin}");
        }
        throw new InvalidOperationException("not run from inside the repository");
    }
}
