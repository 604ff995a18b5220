using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>
/// One pseudo-terminal (ni_pty) as two owners: <see cref="Master"/>, our side (read the child's output, write its
/// input), and <see cref="Console"/>, the side a child is started on (the slave on POSIX, the pseudo console on Windows).
/// They close apart: POSIX closes the slave as soon as the child has it, or reading would never end; Windows keeps the
/// console until the child exits, since resizing goes through it and closing it ends everything attached to it.
/// Every handle is non-inheritable from the instant ni_pty_open returns.
/// </summary>
internal sealed class PseudoTerminal : IDisposable
{
    private PseudoTerminal(SafePseudoTerminalHandle master, SafePseudoConsoleHandle console)
    {
        Master = master;
        Console = console;
    }

    /// <summary>Our side: the master (POSIX) or our ends of the two pipes (Windows).</summary>
    internal SafePseudoTerminalHandle Master { get; }

    /// <summary>The child's side, for a <see cref="Interop.SPAWN_TERMINAL"/> mapping.</summary>
    internal SafePseudoConsoleHandle Console { get; }

    /// <summary>Opens a terminal of <paramref name="size"/>.</summary>
    /// <exception cref="PlatformNotSupportedException">The system has no pseudo consoles (Windows before 10 1809).</exception>
    /// <exception cref="IOException">No terminal could be opened (none left, no /dev/ptmx).</exception>
    internal static unsafe PseudoTerminal Open(PseudoTerminalSize size)
    {
        Interop.PtyInfo pty;
        int error = Interop.PtyOpen(size.Columns, size.Rows, &pty);
        if (error != 0)
            throw Errors.ForTerminal(error);
        return new PseudoTerminal(new SafePseudoTerminalHandle(pty.Input, pty.Output), new SafePseudoConsoleHandle(pty.Console));
    }

    /// <summary>Sets the size the children read; on POSIX the kernel sends SIGWINCH to the foreground group.</summary>
    /// <exception cref="ObjectDisposedException">The terminal is closed.</exception>
    /// <exception cref="InvalidOperationException">Windows: the child has exited, and its console with it.</exception>
    internal unsafe void Resize(int columns, int rows)
    {
        PseudoTerminalSize.Check(columns, nameof(columns));
        PseudoTerminalSize.Check(rows, nameof(rows));
        bool master = false, console = false;
        try
        {
            Master.DangerousAddRef(ref master);
            if (!Console.IsClosed)
            {
                try
                {
                    Console.DangerousAddRef(ref console);
                }
                catch (ObjectDisposedException)
                {
                    // closed meanwhile (Windows: the child's exit): as if it had been closed before
                }
            }
            if (!console && OperatingSystem.IsWindows())
                throw new InvalidOperationException("The terminal cannot be resized once the child has exited: its pseudo console is closed.");
            var pty = new Interop.PtyInfo
            {
                Input = Master.Input,
                Output = Master.DangerousGetHandle(),
                Console = console ? Console.DangerousGetHandle() : Interop.INVALID_HANDLE,
            };
            int error = Interop.PtyResize(&pty, columns, rows);
            if (error != 0)
                throw Errors.ForTerminal(error);
        }
        finally
        {
            if (console)
                Console.DangerousRelease();
            if (master)
                Master.DangerousRelease();
        }
    }

    /// <summary>Closes both sides (each once its last user lets go); children still on the terminal get SIGHUP (POSIX)
    /// or are ended with the console (Windows).</summary>
    public void Dispose()
    {
        Master.Dispose();
        Console.Dispose();
    }

    /// <summary>Closes the handles of <paramref name="pty"/> that are set (ni_pty_close); a failure has nothing to undo.</summary>
    private static unsafe bool ClosePty(Interop.PtyInfo pty) => Interop.PtyClose(&pty) == 0;

    /// <summary>The master (POSIX: one descriptor for both directions) or our two pipe ends (Windows): the handle is the
    /// output, which the reads go through; <see cref="Input"/> is where the writes go (the same value on POSIX).</summary>
    internal sealed class SafePseudoTerminalHandle : SafeHandle
    {
        internal SafePseudoTerminalHandle(nint input, nint output)
            : base(Interop.INVALID_HANDLE, ownsHandle: true)
        {
            Input = input;
            SetHandle(output);
        }

        /// <summary>Where the child's input is written: valid while a reference is held, as the handle is.</summary>
        internal nint Input { get; }

        public override bool IsInvalid => handle == Interop.INVALID_HANDLE;

        protected override bool ReleaseHandle() =>
            ClosePty(new Interop.PtyInfo { Input = Input, Output = handle, Console = Interop.INVALID_HANDLE });
    }

    /// <summary>The slave (POSIX) or the pseudo console (Windows, an HPCON: only ni_pty_close may close it).</summary>
    internal sealed class SafePseudoConsoleHandle : SafeHandle
    {
        internal SafePseudoConsoleHandle(nint console)
            : base(Interop.INVALID_HANDLE, ownsHandle: true) => SetHandle(console);

        public override bool IsInvalid => handle == Interop.INVALID_HANDLE;

        protected override bool ReleaseHandle() =>
            ClosePty(new Interop.PtyInfo { Input = Interop.INVALID_HANDLE, Output = Interop.INVALID_HANDLE, Console = handle });
    }
}
