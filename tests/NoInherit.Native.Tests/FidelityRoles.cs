using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NoInherit.Native.Tests;

/// <summary>
/// Roles of the test program as a child of the fidelity tests (NI_CHILD_ROLE), run before the test runner starts.
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
        if (Environment.GetEnvironmentVariable("NI_CHILD_ROLE") != "start-both")
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
