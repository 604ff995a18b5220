// noinherit record [-o FILE] -- command [args...]
using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using NoInherit.Native;

/// <summary>
/// Runs a command on a pseudo-terminal sized like the user's (80x24 when there is none), shows its output on the user's
/// terminal, forwards the user's keystrokes to it (stdin a terminal: switched to raw mode meanwhile, so that keys reach
/// the command as typed and only its terminal echoes them), and writes the session to a file in the asciicast v2 format
/// (https://docs.asciinema.org/manual/asciicast/v2/): a header line, then one [time, "o", text] line per output chunk and
/// [time, "r", "COLSxROWS"] per resize of the user's terminal. Keystrokes are not recorded (they include passwords).
/// Exits with the command's exit code (128 + the signal's number when a signal ended it, as a shell reports it).
/// </summary>
internal static class Record
{
    internal const string Usage = """
          noinherit record [-o FILE] -- command [args...]
              Run the command on a pseudo-terminal sized like this one (or 80x24), show it here, and write the
              session with its timings to FILE (default session.cast) in the asciicast v2 format.
        """;

    internal static int Run(string[] args)
    {
        string file = "session.cast";
        int i = 0;
        for (; i < args.Length && args[i] != "--"; i++)
        {
            if (args[i] is "-o" or "--output" && i + 1 < args.Length)
                file = args[++i];
            else
                throw new ArgumentException($"unknown argument '{args[i]}' for record (the command follows --)");
        }
        if (i + 1 >= args.Length)
            throw new ArgumentException("no command: noinherit record [-o FILE] -- command [args...]");

        var start = new ProcessStartInfo(args[i + 1]);
        foreach (string argument in args[(i + 2)..])
            start.ArgumentList.Add(argument);
        PseudoTerminalSize size = UserTerminal.Size() ?? new PseudoTerminalSize(80, 24);
        using var output = new FileStream(file, FileMode.Create, FileAccess.Write, FileShare.Read);
        using var cast = new AsciicastWriter(output, size, string.Join(' ', args[(i + 1)..]));
        using ChildProcess child = ChildProcess.Start(start, new ChildProcessOptions { PseudoTerminal = size });
        using (UserTerminal.ForwardKeys(child))
        using (PosixSignalRegistration? resize = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => Resized(child, cast)))
            Mirror(child.Terminal, cast);
        return child.WaitForExitStatus().ExitCode;
    }

    /// <summary>Copies the terminal's output to ours and to the recording until no process holds the terminal any more.</summary>
    private static void Mirror(Stream terminal, AsciicastWriter cast)
    {
        // Descriptor 1 itself on POSIX: Console's stream would set the user's terminal up first (application cursor keys).
        using Stream screen = OperatingSystem.IsWindows()
            ? Console.OpenStandardOutput()
            : new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, 1);
        var buffer = new byte[16 * 1024];
        int count;
        while ((count = terminal.Read(buffer, 0, buffer.Length)) > 0)
        {
            screen.Write(buffer, 0, count);
            screen.Flush();
            cast.Output(buffer.AsSpan(0, count));
        }
        cast.Output(ReadOnlySpan<byte>.Empty, flush: true);
    }

    private static void Resized(ChildProcess child, AsciicastWriter cast)
    {
        if (UserTerminal.Size() is not PseudoTerminalSize size)
            return;
        try
        {
            child.ResizeTerminal(size.Columns, size.Rows);
            cast.Resize(size);
        }
        catch (Exception e) when (e is InvalidOperationException or ObjectDisposedException or PlatformNotSupportedException)
        {
            // the command has ended, or the system cannot resize: the recording keeps its size
        }
    }
}
