using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The small programs the tests of the .NET 11 surface start, on Linux (sh) and on Windows (cmd.exe, which wine has too,
/// and ni_handleprobe.exe), and what .NET 11's own process API says for the same, where the running runtime has it.
/// </summary>
internal static class ChildPrograms
{
    internal static bool Windows => OperatingSystem.IsWindows();

    /// <summary>A shell command: <paramref name="posix"/> for /bin/sh -c, <paramref name="windows"/> for cmd.exe /d /c.</summary>
    internal static ProcessStartInfo Shell(string posix, string windows, bool capture = false)
    {
        ProcessStartInfo start = Windows
            ? new ProcessStartInfo("cmd.exe") { ArgumentList = { "/d", "/c", windows } }
            : new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", posix } };
        start.RedirectStandardOutput = start.RedirectStandardError = capture;
        return start;
    }

    /// <summary>Exits with <paramref name="code"/> at once.</summary>
    internal static ProcessStartInfo Exit(int code) => Shell($"exit {code}", $"exit {code}");

    /// <summary>Prints "out" to standard output and "err" to standard error, then exits with 3.</summary>
    internal static ProcessStartInfo OutAndErr() => Shell("echo out; echo err >&2; exit 3", "echo out& echo err>&2& exit 3", capture: true);

    /// <summary>Runs for 30 s unless killed: one process (killing it leaves nothing behind), standard streams untouched.</summary>
    internal static (string FileName, string[] Arguments) Sleeper() =>
        Windows ? (Probe, new[] { "--sleep", "30" }) : ("/bin/sleep", new[] { "30" });

    /// <summary>
    /// Windows: ni_handleprobe.exe (tests/native), beside the tests; its absence is a broken build, and fails the test.
    /// With "--sleep N" it is the Windows sleeper, not ping.exe: under wine 8, a kill of ping while its echo is in flight
    /// can deadlock the driver host that also serves volume queries, and every later GetFileInformationByHandle of
    /// every process of the prefix then waits for ever (both wine lanes hung so in CI; see ni_handleprobe.c).
    /// </summary>
    internal static string Probe
    {
        get
        {
            string probe = Path.Combine(AppContext.BaseDirectory, "ni_handleprobe.exe");
            Assert.True(File.Exists(probe), $"{probe} is missing: the Windows native build (tests/native) makes it and the test project copies it");
            return probe;
        }
    }

    /// <summary>Runs for a second, then exits 0: one process, standard streams untouched.</summary>
    internal static ProcessStartInfo SleepsASecond() => Windows
        ? new ProcessStartInfo(Probe) { ArgumentList = { "--sleep", "1" } }
        : new ProcessStartInfo("/bin/sleep", "1");

    internal static ProcessStartInfo SleeperStartInfo()
    {
        (string fileName, string[] arguments) = Sleeper();
        var start = new ProcessStartInfo(fileName);
        foreach (string a in arguments)
            start.ArgumentList.Add(a);
        return start;
    }

    /// <summary>The exit status as one comparable text.</summary>
    internal static string Describe(ChildProcessExitStatus s) => $"ExitCode={s.ExitCode}, Canceled={s.Canceled}, Signal={Signal(s.Signal)}";

    private static string Signal(PosixSignal? signal) => signal is null ? "null" : ((int)signal.Value).ToString();

    /// <summary>
    /// The fields of /proc/<paramref name="pid"/>/stat (Linux), numbered as proc(5) does from 1 (pid 1, comm 2, state 3,
    /// ppid 4, pgrp 5, session 6, tty_nr 7, tpgid 8, ...) at index n - 1; comm, which may hold spaces and parentheses, is
    /// given as "name": the fields are counted from its last ')'.
    /// </summary>
    internal static string[] StatFields(int pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        return [pid.ToString(CultureInfo.InvariantCulture), "name", .. stat[(stat.LastIndexOf(')') + 2)..].Split(' ')];
    }

    /// <summary>Whether process <paramref name="pid"/> is gone or a zombie (Linux); Windows: whether it is gone.</summary>
    internal static bool IsGone(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            try
            {
                string stat = File.ReadAllText($"/proc/{pid}/stat");
                return stat[stat.LastIndexOf(')') + 2] == 'Z';
            }
            catch (IOException)
            {
                return true;
            }
        }
        try
        {
            using Process p = Process.GetProcessById(pid);
            return p.HasExited;
        }
        catch (ArgumentException)
        {
            return true;
        }
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for <see cref="IsGone"/>.</summary>
    internal static bool GoneWithin(int pid, int milliseconds)
    {
        var clock = Stopwatch.StartNew();
        while (!IsGone(pid))
        {
            if (clock.ElapsedMilliseconds > milliseconds)
                return false;
            System.Threading.Thread.Sleep(20);
        }
        return true;
    }
}

/// <summary>
/// .NET 11's process API, by reflection (the tests are compiled against net8.0 and net10.0), for comparing with
/// ChildProcess on the .NET 11 lane. <see cref="Available"/> is false elsewhere; a test then checks its own expectations only.
/// </summary>
internal static class Net11
{
    internal static bool Available { get; } = typeof(Process).GetMethod("RunAndCaptureText", [typeof(ProcessStartInfo), typeof(TimeSpan?)]) != null;

    /// <summary>Calls the public static or instance method <paramref name="name"/> of <paramref name="type"/> whose
    /// parameter types are <paramref name="types"/>; an exception it throws is thrown as it is.</summary>
    internal static object? Call(Type type, object? target, string name, Type[] types, params object?[] arguments)
    {
        MethodInfo method = type.GetMethod(name, types) ?? throw new MissingMethodException(type.Name, name);
        try
        {
            return method.Invoke(target, arguments);
        }
        catch (TargetInvocationException e) when (e.InnerException != null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
    }

    /// <summary>A .NET 11 ProcessExitStatus as <see cref="ChildPrograms.Describe"/> writes ours.</summary>
    internal static string Describe(object status)
    {
        Type t = status.GetType();
        object? signal = t.GetProperty("Signal")!.GetValue(status);
        return $"ExitCode={t.GetProperty("ExitCode")!.GetValue(status)}, Canceled={t.GetProperty("Canceled")!.GetValue(status)}, " +
               $"Signal={(signal is null ? "null" : ((int)signal).ToString())}";
    }

    internal static object? Property(object target, string name) => target.GetType().GetProperty(name)!.GetValue(target);

    /// <summary>Sets a ProcessStartInfo property that only .NET 11 has.</summary>
    internal static void Set(ProcessStartInfo startInfo, string name, object? value) =>
        typeof(ProcessStartInfo).GetProperty(name)!.SetValue(startInfo, value);

    /// <summary>The tests that need .NET 11's own members skip elsewhere, saying so.</summary>
    internal static void Require(string what) =>
        Assert.SkipUnless(Available, $"the running runtime ({Environment.Version}) has no {what}; the .NET 11 lane (build/dotnet11.sh) runs this");
}
