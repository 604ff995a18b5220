using System;
using System.Diagnostics;
using System.IO;
using System.Reflection;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Tests that change what the whole process shares (its current directory, PATH, a saturated thread pool) run alone, in
/// this collection, and put it back before they end.
/// </summary>
[CollectionDefinition(nameof(ProcessWideState), DisableParallelization = true)]
public sealed class ProcessWideState
{
    /// <summary>Sets the current directory and PATH for the lifetime of the returned object.</summary>
    internal static IDisposable Set(string? currentDirectory = null, string? path = null) => new Restorer(currentDirectory, path);

    private sealed class Restorer : IDisposable
    {
        private readonly string _directory = Directory.GetCurrentDirectory();
        private readonly string? _path = Environment.GetEnvironmentVariable("PATH");

        public Restorer(string? currentDirectory, string? path)
        {
            if (currentDirectory != null)
                Directory.SetCurrentDirectory(currentDirectory);
            if (path != null)
                Environment.SetEnvironmentVariable("PATH", path);
        }

        public void Dispose()
        {
            Directory.SetCurrentDirectory(_directory);
            Environment.SetEnvironmentVariable("PATH", _path);
        }
    }
}

/// <summary>This test program as a child process: the apphost, or the host with the test assembly (the .NET 11 lane).</summary>
internal static class Self
{
    /// <summary>The command that runs this test program: the apphost, or the host and the test assembly.</summary>
    internal static string[] Command
    {
        get
        {
            string host = Environment.ProcessPath!;
            return Path.GetFileNameWithoutExtension(host) == "dotnet" ? [host, Assembly.GetEntryAssembly()!.Location] : [host];
        }
    }

    /// <summary>A start info that runs this test program with <c>NI_CHILD_ROLE=<paramref name="role"/></c>, outputs redirected.</summary>
    internal static ProcessStartInfo WithRole(string role)
    {
        string[] command = Command;
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in command[1..])
            start.ArgumentList.Add(argument);
        start.Environment["NI_CHILD_ROLE"] = role;
        return start;
    }
}
