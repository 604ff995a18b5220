using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>
/// How a child ended: .NET 11's <c>System.Diagnostics.ProcessExitStatus</c>, with the same members, values and
/// meaning, on every target framework.
/// </summary>
public sealed class ChildProcessExitStatus
{
    /// <summary>Creates an exit status.</summary>
    /// <param name="exitCode">The exit code.</param>
    /// <param name="canceled">Whether the child was killed because a timeout ran out or a token was cancelled.</param>
    /// <param name="signal">The signal that ended the child, or null when it exited by itself.</param>
    public ChildProcessExitStatus(int exitCode, bool canceled, PosixSignal? signal = null)
    {
        ExitCode = exitCode;
        Canceled = canceled;
        Signal = signal;
    }

    /// <summary>
    /// The exit code: what the child passed to exit (or returned from main); on Unix, 128 + the signal's number when a
    /// signal ended it, as <see cref="Process.ExitCode"/> reports it (use <see cref="Signal"/> for the signal itself).
    /// Windows: -1 for a child ended by <see cref="ChildProcess.Kill()"/>.
    /// </summary>
    public int ExitCode { get; }

    /// <summary>
    /// The signal that ended the child on Unix, or null when it exited by itself (always null on Windows). The values
    /// are .NET 11's: a signal with a portable name is its negative <see cref="PosixSignal"/> member (SIGTERM is -4);
    /// SIGKILL is -11, .NET 11's <c>PosixSignal.SIGKILL</c>, reported as <c>(PosixSignal)(-11)</c> on net8.0 and
    /// net10.0, whose enum has no name for it; any other signal is its raw number (SIGUSR1 is 10 on Linux).
    /// </summary>
    public PosixSignal? Signal { get; }

    /// <summary>
    /// Whether the child was killed because a timeout ran out or a token was cancelled
    /// (<see cref="ChildProcess.WaitForExitOrKillOnTimeout"/>, <see cref="ChildProcess.WaitForExitOrKillOnCancellationAsync"/>,
    /// <see cref="ChildProcess.Run(ProcessStartInfo, System.TimeSpan?)"/> and the other Run methods).
    /// </summary>
    public bool Canceled { get; }
}
