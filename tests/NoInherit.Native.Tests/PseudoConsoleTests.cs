using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The terminal on Windows (a pseudo console, run here under wine as far as wine's ConPTY goes), and what holds on every
/// system: the handles of a terminal (our side, and on Unix the slave too) are never inheritable, so a child started by
/// Process.Start beside one holds none of them.
/// </summary>
[Collection(nameof(ChildProbeCollection))]
public class PseudoConsoleTests
{
    private const string WindowsOnly = "Windows' pseudo console (ConPTY); PseudoTerminalTests covers the Unix pty";

    [Fact]
    public void TerminalHandles_AreNotInherited_ByAChildStartedWithProcessStart()
    {
        ChildProcessProbe.SkipUnlessCanProbeHandles();
        using var dir = new TempDirectory();
        using PseudoTerminal terminal = PseudoTerminal.Open(new PseudoTerminalSize(80, 24));
        using var input = new SafeFileHandle(terminal.Master.Input, ownsHandle: false);
        // The control: a file this process made inheritable, which the child must hold, or the probe proves nothing.
        using SafeFileHandle control = File.OpenHandle(dir.Combine("control"), FileMode.Create, FileAccess.Write, FileShare.Inheritable);
        SafeHandle[] ours = OperatingSystem.IsWindows()
            ? new SafeHandle[] { terminal.Master, input } // the console is an HPCON, no handle of this process
            : new SafeHandle[] { terminal.Master, terminal.Console };
        ChildProcessProbe.AssertChildHolds(ours, new SafeHandle[] { control });
        // The audit agrees: it lists the control, and no handle of the terminal.
        IReadOnlyList<InheritableHandle> audit = Inheritance.Audit();
        Assert.Contains(audit, h => h.Handle == control.DangerousGetHandle());
        Assert.DoesNotContain(audit, h => ours.Any(o => o.DangerousGetHandle() == h.Handle));
    }

    [Fact]
    public void Cmd_OnAPseudoConsole_ShowsItsOutput_WhichEnds_WithItsExitCode()
    {
        Assert.SkipUnless(OperatingSystem.IsWindows(), WindowsOnly);
        // "> CON": the console itself, which wine's child has no standard handle for (real Windows gives it the console's).
        var start = new ProcessStartInfo("cmd.exe") { Arguments = "/c echo hello-console> CON& exit /b 3" };
        using var session = new TerminalSession(start, new PseudoTerminalSize(100, 30));
        string text = session.ReadToEnd(); // the console is closed when cmd exits, which ends the output
        Assert.Contains("hello-console", text);
        Assert.Equal(3, session.Child.WaitForExitStatus().ExitCode);
        Assert.Throws<InvalidOperationException>(() => session.Child.ResizeTerminal(90, 20)); // the console is gone with it
    }

    [Fact]
    public void ResizeTerminal_WhileTheChildRuns_ResizesThePseudoConsole()
    {
        Assert.SkipUnless(OperatingSystem.IsWindows(), WindowsOnly);
        // cmd waits for a sleeper of two seconds, then exits by itself: nothing is left running whatever happens.
        var start = new ProcessStartInfo("cmd.exe") { Arguments = $"/c echo ready> CON& \"{ChildPrograms.Probe}\" --sleep 2 >nul& exit /b 5" };
        using var session = new TerminalSession(start, new PseudoTerminalSize(100, 30));
        session.WaitFor("ready");
        PlatformNotSupportedException? unsupported = null;
        try
        {
            session.Child.ResizeTerminal(120, 40);
        }
        catch (PlatformNotSupportedException e) when (Wine.IsRunning)
        {
            unsupported = e;
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => session.Child.ResizeTerminal(0, 40));
        session.ReadToEnd();
        Assert.Equal(5, session.Child.WaitForExitStatus().ExitCode);
        if (unsupported != null)
            Assert.Skip($"wine's ResizePseudoConsole is not implemented (E_NOTIMPL): {unsupported.Message}");
    }
}
