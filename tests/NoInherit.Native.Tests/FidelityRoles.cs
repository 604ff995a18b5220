using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NoInherit.Native.Tests;

/// <summary>
/// Roles of the test program as a child of the fidelity and options tests (NI_CHILD_ROLE), run before the test runner
/// starts. "kill-on-parent-exit": see StartAChildThatDiesWithUs.
/// "start-both": starts NI_TEST_PROGRAM (looked up on this process's PATH) through Process.Start and through
/// ChildProcess.Start, and prints what each child wrote, or the exception, as "Process: ...|ChildProcess: ...". The tests
/// run it as an unprivileged user, whose execute permissions differ from root's.
/// </summary>
internal static class FidelityRoles
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "the child role must run before the test runner")]
    internal static void Run()
    {
        string? role = Environment.GetEnvironmentVariable("NI_CHILD_ROLE");
        if (role == "kill-on-parent-exit")
            StartAChildThatDiesWithUs();
        if (role != "start-both")
            return;
        string program = Environment.GetEnvironmentVariable("NI_TEST_PROGRAM")!;
        string bcl = Outcome(() =>
        {
            using Process p = Process.Start(new ProcessStartInfo(program) { RedirectStandardOutput = true })!;
            string text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return text;
        });
        string ours = Outcome(() =>
        {
            using ChildProcess c = ChildProcess.Start(new ProcessStartInfo(program) { RedirectStandardOutput = true });
            string text = c.StandardOutput.ReadToEnd();
            c.WaitForExit();
            return text;
        });
        Console.Out.Write($"Process: {bcl}|ChildProcess: {ours}");
        Console.Out.Flush();
        Environment.Exit(0);
    }

    /// <summary>
    /// "kill-on-parent-exit": starts a sleeper with KillOnParentExit, prints its pid and exits at once; with
    /// NI_PARENT_STAYS=1 it waits to be killed instead. (No other thread can run this module's code while its module
    /// initializer runs: the starting-thread case is tested in the test process itself.)
    /// </summary>
    private static void StartAChildThatDiesWithUs()
    {
        ChildProcess child = ChildProcess.Start(ChildPrograms.SleeperStartInfo(), new ChildProcessOptions { KillOnParentExit = true });
        Console.Out.WriteLine(child.Id);
        Console.Out.Flush();
        if (Environment.GetEnvironmentVariable("NI_PARENT_STAYS") == "1")
            System.Threading.Thread.Sleep(System.Threading.Timeout.Infinite);
        Environment.Exit(0);
    }

    private static string Outcome(Func<string> start)
    {
        try
        {
            return start().Trim();
        }
        catch (Win32Exception e)
        {
            return $"Win32Exception {e.NativeErrorCode}: {e.Message}";
        }
    }
}
