using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using NoInherit.Native;

/// <summary>
/// The terminal of the user who runs `noinherit record`: its size, and its keys forwarded to the command. On POSIX it is
/// driven through stty on /dev/tty (our controlling terminal) rather than through <see cref="Console"/>, whose Unix side
/// reads a terminal through its own line editor (echo off, a line at a time) and switches the terminal's cursor keys to
/// application mode on first use: a recorder must pass keys on as typed and leave the terminal as it found it.
/// </summary>
internal sealed class UserTerminal : IDisposable
{
    private readonly string? _saved; // stty -g: the mode to restore

    private UserTerminal(string? saved) => _saved = saved;

    /// <summary>The size of the user's terminal, or null when there is none (no controlling terminal, or Windows output
    /// that is not a console).</summary>
    internal static PseudoTerminalSize? Size()
    {
        if (OperatingSystem.IsWindows())
        {
            if (Console.IsOutputRedirected)
                return null;
            return Clamp(Console.WindowWidth, Console.WindowHeight);
        }
        string[]? rowsColumns = Stty("size")?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return rowsColumns is [string rows, string columns] && int.TryParse(rows, out int r) && int.TryParse(columns, out int c) ? Clamp(c, r) : null;
    }

    private static PseudoTerminalSize? Clamp(int columns, int rows) =>
        columns >= 1 && rows >= 1 ? new PseudoTerminalSize(Math.Min(columns, PseudoTerminalSize.MaxValue), Math.Min(rows, PseudoTerminalSize.MaxValue)) : null;

    /// <summary>
    /// When our standard input is a terminal: switches it to raw mode without echo (POSIX; the command's own terminal
    /// interprets and echoes the keys) and copies the keys to <paramref name="child"/>'s terminal on a background thread.
    /// Input that is not a terminal is not forwarded: the command reads only what is typed on its own terminal.
    /// Disposing restores the mode.
    /// </summary>
    internal static UserTerminal ForwardKeys(ChildProcess child)
    {
        if (Console.IsInputRedirected)
            return new UserTerminal(null);
        string? saved = OperatingSystem.IsWindows() ? null : Stty("-g")?.Trim();
        if (saved != null)
            Stty("raw", "-echo");
        new Thread(() => CopyKeys(child)) { IsBackground = true, Name = "record keys" }.Start();
        return new UserTerminal(saved);
    }

    private static void CopyKeys(ChildProcess child)
    {
        try
        {
            // Descriptor 0 itself on POSIX (not Console's reader); a standard input handle that is not ours to close.
            using Stream keys = OperatingSystem.IsWindows()
                ? Console.OpenStandardInput()
                : new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, 1);
            var buffer = new byte[1024];
            int count;
            while ((count = keys.Read(buffer, 0, buffer.Length)) > 0)
                child.Terminal.Write(buffer, 0, count);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // the command's terminal is gone
        }
    }

    /// <summary>Runs stty on /dev/tty; its output, or null when there is no terminal (or no stty).</summary>
    private static string? Stty(params string[] arguments)
    {
        SafeFileHandle tty;
        try
        {
            tty = NoInheritFile.OpenHandle("/dev/tty", FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // no controlling terminal
        }
        using (tty)
        {
            var start = new ProcessStartInfo("stty") { RedirectStandardOutput = true };
            foreach (string argument in arguments)
                start.ArgumentList.Add(argument);
            try
            {
                using ChildProcess stty = ChildProcess.Start(start, new ChildProcessOptions { StandardInputHandle = tty });
                string text = stty.StandardOutput.ReadToEnd();
                return stty.WaitForExitStatus().ExitCode == 0 ? text : null;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null; // no stty
            }
        }
    }

    public void Dispose()
    {
        if (_saved != null)
            Stty(_saved);
    }
}
