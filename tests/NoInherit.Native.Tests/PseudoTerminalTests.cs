using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// ChildProcessOptions.PseudoTerminal, ChildProcess.Terminal and ResizeTerminal on Linux, with real programs (python3, sh,
/// stty, bash, cat): what the child sees (a terminal as 0, 1, 2 and its controlling tty), its size and SIGWINCH, the line
/// discipline (echo, Ctrl-C, Ctrl-D), how the output ends, and that no other child ever holds any part of a terminal.
/// </summary>
[Collection(nameof(ChildProbeCollection))]
public class PseudoTerminalTests
{
    private const string LinuxOnly = "pseudo-terminals with real Unix programs (sh, stty, python3, bash) and /proc/<pid>/fd: Linux only here";

    private static void SkipUnlessLinux(params string[] programs)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), LinuxOnly);
        foreach (string program in programs)
            Assert.SkipWhen(ProgramPath.Resolve(program) is null, $"{program} is not installed (build/prereqs.sh installs it)");
    }

    [Fact]
    public void Child_HasTheTerminalAsStandardStreams_AndAsItsControllingTerminal()
    {
        SkipUnlessLinux("python3");
        using var session = TerminalSession.Start("python3", "-c",
            "import os; print(os.isatty(0), os.isatty(1), os.isatty(2), os.ttyname(0), os.ttyname(1) == os.ttyname(2) == os.ttyname(0), " +
            "os.getsid(0) == os.getpid(), os.tcgetpgrp(0) == os.getpgrp(), open('/dev/tty').isatty())");
        string text = session.ReadToEnd();
        Match line = Regex.Match(text, @"True True True (/dev/pts/\d+) True True True True\r\n");
        Assert.True(line.Success, $"the child saw: '{TerminalSession.Escape(text)}'");
        Assert.Equal(0, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void SttySize_ShowsTheSizeAsked_AndTheNewOneAfterResize()
    {
        SkipUnlessLinux();
        using var session = TerminalSession.Start(new PseudoTerminalSize(100, 30), "sh", "-c", "stty size; read answer; stty size");
        session.WaitFor("30 100\r\n");
        session.Child.ResizeTerminal(132, 43);
        session.Send("\n");
        session.WaitFor("43 132\r\n");
        session.ReadToEnd();
        Assert.Equal(0, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void Resize_SendsSigwinch_ToTheForegroundGroup()
    {
        SkipUnlessLinux();
        using var session = TerminalSession.Start("sh", "-c", "trap 'echo WINCH $(stty size); exit 5' WINCH; echo ready; while :; do sleep 0.05; done");
        session.WaitFor("ready");
        session.Child.ResizeTerminal(81, 25);
        session.WaitFor("WINCH 25 81");
        session.ReadToEnd();
        Assert.Equal(5, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void InteractiveBash_AnswersAtItsPrompt()
    {
        SkipUnlessLinux("bash");
        var start = new ProcessStartInfo("bash") { ArgumentList = { "--norc", "--noprofile", "-i" } };
        start.Environment["PS1"] = "ni-prompt$ ";
        start.Environment["HISTFILE"] = "/dev/null";
        start.Environment["TERM"] = "dumb";
        using var session = new TerminalSession(start, new PseudoTerminalSize(80, 24));
        session.WaitFor("ni-prompt$ ");
        session.Send("echo $((6 * 7)) $([ -t 0 ] && echo tty)\n");
        session.WaitFor("42 tty\r\n");
        session.WaitFor("ni-prompt$ ");
        session.Send("exit 3\n");
        session.ReadToEnd();
        Assert.Equal(3, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void Getpass_DoesNotEchoWhatIsTyped()
    {
        SkipUnlessLinux("python3");
        using var session = TerminalSession.Start("python3", "-c",
            "import getpass; p = getpass.getpass('Password: '); print('got', len(p), p[::-1]); print('echo is back:', input('Name: '))");
        session.WaitFor("Password: ");
        session.Send("sesame42\n");
        session.WaitFor("Name: ");
        session.Send("visible\n");
        string text = session.ReadToEnd();
        Assert.Contains("got 8 24emases", text);
        Assert.DoesNotContain("sesame42", text);
        Assert.Contains("visible\r\necho is back: visible", text); // the terminal echoes again once getpass is done
        Assert.Equal(0, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void CtrlC_SendsSigint_ToEveryProcessOfTheForegroundGroup()
    {
        SkipUnlessLinux("python3");
        // sh and the python3 it runs (same process group, the terminal's foreground one) both get the SIGINT.
        using var session = TerminalSession.Start("sh", "-c",
            "trap 'echo sh got INT' INT; python3 -c \"import signal, sys, time; " +
            "signal.signal(signal.SIGINT, lambda *a: (print('python got INT', flush=True), sys.exit(4))); print('ready', flush=True); time.sleep(30)\"; " +
            "echo python exited $?");
        session.WaitFor("ready");
        session.Child.Terminal.Write(new byte[] { 0x03 });
        session.WaitFor("python got INT");
        session.WaitFor("sh got INT");
        session.WaitFor("python exited 4");
        session.ReadToEnd();
        Assert.Equal(0, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void CtrlC_EndsAChildThatDoesNotHandleIt_WithSigint()
    {
        SkipUnlessLinux();
        using var session = TerminalSession.Start("sh", "-c", "echo ready; exec sleep 30");
        session.WaitFor("ready");
        session.Send("\x03");
        session.ReadToEnd();
        ChildProcessExitStatus status = session.Child.WaitForExitStatus();
        Assert.Equal(PosixSignal.SIGINT, status.Signal);
    }

    [Fact]
    public async Task Output_EndsWithEverythingWritten_OnceTheLastHolderOfTheTerminalIsGone_AndTheExitCodeIsTheChilds()
    {
        SkipUnlessLinux();
        // The child exits first (7); a process it left on the terminal writes later: the output ends only after it. (The
        // session leader's exit sends SIGHUP to the terminal's foreground group, which the one left behind ignores from the start.)
        using var session = TerminalSession.Start("sh", "-c", "trap '' HUP; (sleep 0.5; echo late) & echo early; exit 7");
        session.WaitFor("early\r\n");
        Assert.Equal(7, session.Child.WaitForExitStatus().ExitCode);
        Assert.EndsWith("late\r\n", session.ReadToEnd());
        // Further reads keep saying "end", synchronous and asynchronous alike, rather than throwing.
        var buffer = new byte[16];
        Assert.Equal(0, session.Child.Terminal.Read(buffer, 0, buffer.Length));
        Assert.Equal(0, await session.Child.Terminal.ReadAsync(buffer, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task CtrlD_EndsInput_AndWritesGoToTheChild()
    {
        SkipUnlessLinux();
        using var session = TerminalSession.Start("sh", "-c", "cat; echo cat exited $?");
        session.Send("first line\n");
        session.WaitFor("first line\r\n"); // the echo
        session.WaitFor("first line\r\n"); // cat's copy
        await session.Child.Terminal.WriteAsync("\x04"u8.ToArray(), TestContext.Current.CancellationToken);
        session.WaitFor("cat exited 0");
        session.ReadToEnd();
        Assert.Equal(0, session.Child.WaitForExitStatus().ExitCode);
    }

    [Fact]
    public void AChildStartedAlongside_HoldsNoDescriptorOfTheTerminal()
    {
        SkipUnlessLinux();
        ChildProcessProbe.SkipUnlessSupported();
        using var session = TerminalSession.Start("sh", "-c", "tty; read answer");
        string tty = Regex.Match(session.WaitFor("\r\n"), @"/dev/pts/\d+").Value;
        Assert.NotEmpty(tty);
        // Positive control: this process holds the master (/dev/ptmx), and the terminal child holds the slave.
        Assert.Contains("/dev/ptmx", Observe.OwnDescriptorTargets());
        Assert.Contains(tty, DescriptorTargets(session.Child.Id));
        Assert.DoesNotContain(tty, Observe.OwnDescriptorTargets()); // our copy of the slave is closed once the child has it

        Dictionary<int, string> byProcessStart = ChildProcessProbe.DescriptorsOfNewChild();
        Assert.DoesNotContain(byProcessStart.Values, t => t == "/dev/ptmx" || t == tty);
        using (ChildProcess ours = ChildProcess.Start(ChildPrograms.SleeperStartInfo()))
        {
            try
            {
                Assert.DoesNotContain(DescriptorTargets(ours.Id), t => t == "/dev/ptmx" || t == tty);
            }
            finally
            {
                ours.Kill();
                ours.WaitForExit();
            }
        }
        session.Send("\n");
        session.ReadToEnd();
    }

    [Fact]
    public void TwoHundredTerminals_OpenedAndClosed_LeaveNoDescriptorBehind()
    {
        SkipUnlessLinux();
        int before = TerminalDescriptors();
        for (int i = 0; i < 200; i++)
        {
            using var session = TerminalSession.Start("sh", "-c", "echo $0", "t" + i);
            Assert.Equal($"t{i}\r\n", session.ReadToEnd());
        }
        // Starts that fail after the terminal was opened (a working directory that does not exist) close it too.
        for (int i = 0; i < 20; i++)
        {
            var start = new ProcessStartInfo("sh") { WorkingDirectory = "/nonexistent-directory-" + i };
            Assert.Throws<Win32Exception>(() => ChildProcess.Start(start, new ChildProcessOptions { PseudoTerminal = new PseudoTerminalSize(80, 24) }));
        }
        // A terminal whose stream is disposed while its child runs: closed, the child hung up (SIGHUP).
        ChildProcess hungUp = ChildProcess.Start(new ProcessStartInfo("sleep", "30"), new ChildProcessOptions { PseudoTerminal = new PseudoTerminalSize(80, 24) });
        hungUp.Terminal.Dispose();
        Assert.Equal(PosixSignal.SIGHUP, hungUp.WaitForExitStatus().Signal);
        Assert.Throws<ObjectDisposedException>(() => hungUp.Terminal.Read(new byte[1], 0, 1));
        Assert.Throws<ObjectDisposedException>(() => hungUp.ResizeTerminal(10, 10));
        hungUp.Dispose();
        Assert.Equal(before, TerminalDescriptors());
    }

    /// <summary>How many descriptors of this process refer to a terminal's master or slave.</summary>
    private static int TerminalDescriptors() =>
        Observe.OwnDescriptorTargets().Count(t => t == "/dev/ptmx" || t.StartsWith("/dev/pts/", StringComparison.Ordinal));

    private static List<string> DescriptorTargets(int pid)
    {
        var targets = new List<string>();
        foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                targets.Add(new FileInfo(fd).LinkTarget ?? "");
            }
            catch (IOException)
            {
                // closed meanwhile
            }
        }
        return targets;
    }
}
