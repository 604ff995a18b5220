using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading.Tasks;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
    private PseudoTerminalStream? _terminal;

    /// <summary>
    /// The child's terminal (<see cref="ChildProcessOptions.PseudoTerminal"/>): read what it writes to it (output and
    /// errors, with the terminal's line discipline applied: "\n" arrives as "\r\n", input is echoed), and write its
    /// keystrokes (0x03 is Ctrl-C, which sends SIGINT to the terminal's foreground process group; 0x04 at the start of a
    /// line is end of input). Reading returns 0 bytes once no process holds the terminal any more (the child and anything
    /// it started on it), after everything they wrote. Disposing it (or this object) closes the terminal: processes still
    /// on it get SIGHUP (Unix) or are ended with the pseudo console (Windows).
    /// </summary>
    /// <remarks>Windows: the pseudo console is closed when the child exits, which ends the output (and any process the
    /// child left on it); the console translates what the child writes into its own escape sequences.</remarks>
    /// <exception cref="InvalidOperationException">The child was not started on a terminal.</exception>
    public Stream Terminal => _terminal ?? throw new InvalidOperationException("The process has no terminal: set ChildProcessOptions.PseudoTerminal to start it on one.");

    /// <summary>
    /// Sets the size of the child's terminal. On Unix the kernel sends SIGWINCH to the terminal's foreground process group
    /// when the size changes (full-screen programs redraw); on Windows the pseudo console is resized.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> or <paramref name="rows"/> is below 1 or above
    /// <see cref="PseudoTerminalSize.MaxValue"/>.</exception>
    /// <exception cref="InvalidOperationException">The child was not started on a terminal; or (Windows) it has exited.</exception>
    /// <exception cref="ObjectDisposedException">The terminal has been closed.</exception>
    /// <exception cref="PlatformNotSupportedException">The system cannot resize a pseudo console (wine).</exception>
    public void ResizeTerminal(int columns, int rows)
    {
        PseudoTerminalStream terminal = _terminal ?? throw new InvalidOperationException("The process has no terminal: set ChildProcessOptions.PseudoTerminal to start it on one.");
        terminal.Terminal.Resize(columns, rows);
    }

    /// <summary>
    /// The terminal a start asks for, checked before anything is created: null when <see cref="ChildProcessOptions.PseudoTerminal"/>
    /// is not set. The terminal is the child's standard input, output and error, so nothing else may claim them.
    /// </summary>
    private static PseudoTerminalSize? TerminalRequest(ProcessStartInfo startInfo, ChildProcessOptions? options)
    {
        if (options?.PseudoTerminal is not PseudoTerminalSize size)
            return null;
        if (!size.IsValid)
            throw new ArgumentException("ChildProcessOptions.PseudoTerminal is default(PseudoTerminalSize): give it a size of at least 1x1.", nameof(options));
        string? conflict =
            startInfo.RedirectStandardInput ? nameof(ProcessStartInfo.RedirectStandardInput)
            : startInfo.RedirectStandardOutput ? nameof(ProcessStartInfo.RedirectStandardOutput)
            : startInfo.RedirectStandardError ? nameof(ProcessStartInfo.RedirectStandardError)
            : options.StandardInputHandle != null || StartInfoProperties.StandardInputHandle(startInfo) != null ? nameof(ChildProcessOptions.StandardInputHandle)
            : options.StandardOutputHandle != null || StartInfoProperties.StandardOutputHandle(startInfo) != null ? nameof(ChildProcessOptions.StandardOutputHandle)
            : options.StandardErrorHandle != null || StartInfoProperties.StandardErrorHandle(startInfo) != null ? nameof(ChildProcessOptions.StandardErrorHandle)
            : options.InheritedHandlesByNumber is IDictionary<int, SafeHandle> byNumber && (byNumber.ContainsKey(0) || byNumber.ContainsKey(1) || byNumber.ContainsKey(2))
                ? "InheritedHandlesByNumber[0, 1 or 2]"
            : options.StartDetached || StartInfoProperties.StartDetached(startInfo) ? nameof(ChildProcessOptions.StartDetached)
            : null;
        if (conflict != null)
        {
            throw new InvalidOperationException($"PseudoTerminal cannot be combined with {conflict}: the terminal is the child's standard input, " +
                "output and error" + (conflict == nameof(ChildProcessOptions.StartDetached) ? ", and its controlling terminal." : "."));
        }
        if (OperatingSystem.IsWindows() && (options.InheritedHandles?.Count > 0 || options.InheritedHandlesByNumber?.Count > 0
                                             || StartInfoProperties.InheritedHandles(startInfo)?.Count > 0))
        {
            throw new PlatformNotSupportedException("On Windows a child on a PseudoTerminal cannot be given other handles (InheritedHandles, " +
                "InheritedHandlesByNumber): such a child is started from a helper process, which cannot attach our pseudo console.");
        }
        return size;
    }

    /// <summary>Opens the terminal and lists its console for the child (as 0, 1, 2 and the controlling terminal).</summary>
    private static PseudoTerminal? OpenTerminal(PseudoTerminalSize? size, HandleMappings mappings)
    {
        if (size is not PseudoTerminalSize requested)
            return null;
        PseudoTerminal terminal = PseudoTerminal.Open(requested);
        try
        {
            mappings.Add(terminal.Console, Interop.SPAWN_TERMINAL, "options");
        }
        catch
        {
            terminal.Dispose();
            throw;
        }
        return terminal;
    }

    /// <summary>
    /// Gives the started child's terminal to <paramref name="child"/>. Our copy of the child's side goes now (POSIX: the
    /// slave, which the mappings hold until ni_spawn has returned; reading would never end while we kept it) or when the
    /// child exits (Windows: the console, which resizing needs while the child runs and whose close ends the output).
    /// </summary>
    private static void AttachTerminal(ChildProcess child, PseudoTerminal? terminal, ChildWaitState waitState)
    {
        if (terminal is null)
            return;
        child._terminal = new PseudoTerminalStream(terminal);
        if (OperatingSystem.IsWindows())
            waitState.Exit.ContinueWith(static (_, console) => ((SafeHandle)console!).Dispose(), terminal.Console, TaskScheduler.Default);
        else
            terminal.Console.Dispose();
    }
}
