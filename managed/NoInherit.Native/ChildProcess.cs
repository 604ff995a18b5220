using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// A child process that receives exactly the handles it is given, and nothing else: not the
/// descriptors or handles that other code in this process left inheritable. It stands beside
/// <see cref="Process.Start(ProcessStartInfo)"/> and .NET 11's process API (<c>ProcessStartInfo.InheritedHandles</c>,
/// <c>Process.Run</c>, <c>RunAndCaptureText</c>, <c>StartAndForget</c>, <c>Signal</c>, <c>WaitForExitStatus</c>,
/// <c>ReadAllText</c>..., under the same names), takes the same <see cref="ProcessStartInfo"/>, and works on net8.0 and
/// net10.0, with sockets, and with descriptor numbers of your choosing on Linux (as systemd socket activation passes them).
/// </summary>
/// <remarks>
/// <para>
/// Where it behaves differently from Process on purpose: the child starts with SIGPIPE at its default disposition on
/// Unix (Process's children inherit the runtime's "ignored", so a shell pipeline run from .NET does not stop when its
/// reader goes away); a NUL character in the file name, an argument, the working directory or the environment is
/// refused with <see cref="ArgumentException"/> (Process passes the strings on cut short at the NUL, and runs another
/// program than the one named); the exit status of a child is collected by its pid alone, so <see cref="Process"/>
/// children of the same process and these never take each other's. On Windows no handle of this process is made
/// inheritable, even for a moment; the child's parent process id is then that of a helper process, and a handle passed
/// by value has another value in the child: an argument that is exactly a passed handle's value, in decimal (as
/// <see cref="System.IO.Pipes.AnonymousPipeServerStream.GetClientHandleAsString"/> writes it) or 0x hex, is rewritten to
/// the child's value. How it is done on each system: docs/architecture.md.
/// </para>
/// </remarks>
public sealed partial class ChildProcess : IDisposable
{
    /// <summary>SIGKILL as .NET 11 names it (<c>PosixSignal.SIGKILL</c>), which the enum of net8.0 and net10.0 lacks.</summary>
    internal const PosixSignal SIGKILL = (PosixSignal)(-11);

    /// <summary>This system's number for SIGKILL (what ni_kill terminates a Windows child with).</summary>
    private static readonly int s_killNumber = Interop.SignalNumber((int)SIGKILL);

    private readonly ChildWaitState _waitState;
    private readonly StreamWriter? _standardInput;
    private readonly Stream? _outputStream, _errorStream; // our ends of the output pipes (through the drain, if any)
    private StreamReader? _standardOutput, _standardError; // their readers, made when first asked for
    private readonly Encoding _outputEncoding;
    private readonly Encoding _errorEncoding;
    private bool _outputUsed, _errorUsed; // handed out, or read by a ReadAll method: ReadAll* needs both untouched
    private bool _disposed;
    private DateTime? _startTime;
    // As start failures name them, for Resume's; the directory only for a suspended child (the only one Resume
    // starts), since naming this process's asks the system for it.
    private readonly string _program;
    private readonly string? _workingDirectory;

    private ChildProcess(ChildWaitState waitState, RedirectedStreams.Ours streams, SpawnArguments arguments)
    {
        _waitState = waitState;
        _program = arguments.ProgramForMessages;
        _workingDirectory = (arguments.Flags & Interop.SpawnFlags.SPAWN_SUSPENDED) != 0 ? arguments.WorkingDirectoryForMessages : null;
        _standardInput = streams.Input;
        _outputStream = streams.Output;
        _errorStream = streams.Error;
        _outputEncoding = streams.OutputEncoding;
        _errorEncoding = streams.ErrorEncoding;
        _drain = streams.Drain;
        _drain?.StartAfter(waitState.Exit);
    }

    /// <summary>The child's process id.</summary>
    public int Id => _waitState.ProcessId;

    /// <summary>Writes to the child's standard input (<see cref="ProcessStartInfo.RedirectStandardInput"/>); auto-flushed.</summary>
    /// <exception cref="InvalidOperationException">Standard input was not redirected.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed (checked first, as Process checks it).</exception>
    public StreamWriter StandardInput
    {
        get
        {
            ThrowIfDisposed();
            return _standardInput ?? throw new InvalidOperationException("StandardIn has not been redirected.");
        }
    }

    /// <summary>Reads the child's standard output (<see cref="ProcessStartInfo.RedirectStandardOutput"/>). Once it has been
    /// asked for, the ReadAll methods and <see cref="BeginOutputReadLine"/> refuse to run, as Process's do.</summary>
    /// <exception cref="InvalidOperationException">Standard output was not redirected, or is read through
    /// <see cref="BeginOutputReadLine"/>.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed (checked first, as Process checks it).</exception>
    public StreamReader StandardOutput
    {
        get
        {
            ThrowIfDisposed();
            Stream output = _outputStream ?? throw new InvalidOperationException(StandardOutputMissing);
            if (_outputAsync)
                throw new InvalidOperationException(MixedReads);
            _outputUsed = true;
            return RedirectedStreams.Reader(ref _standardOutput, output, _outputEncoding);
        }
    }

    /// <summary>Reads the child's standard error (<see cref="ProcessStartInfo.RedirectStandardError"/>). Once it has been
    /// asked for, the ReadAll methods and <see cref="BeginErrorReadLine"/> refuse to run, as Process's do.</summary>
    /// <exception cref="InvalidOperationException">Standard error was not redirected, or is read through
    /// <see cref="BeginErrorReadLine"/>.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed (checked first, as Process checks it).</exception>
    public StreamReader StandardError
    {
        get
        {
            ThrowIfDisposed();
            Stream error = _errorStream ?? throw new InvalidOperationException(StandardErrorMissing);
            if (_errorAsync)
                throw new InvalidOperationException(MixedReads);
            _errorUsed = true;
            return RedirectedStreams.Reader(ref _standardError, error, _errorEncoding);
        }
    }

    /// <summary>Whether the child has exited. Asks the child itself when its exit has not been noticed yet, as
    /// <see cref="Process.HasExited"/> does, so the answer is current even when the thread pool is busy. Finding it gone
    /// raises <see cref="Exited"/> if nothing has yet, as Process's does.</summary>
    public bool HasExited
    {
        get
        {
            bool exited = _waitState.HasExited;
            if (exited)
                RaiseExited();
            return exited;
        }
    }

    /// <summary>
    /// The child's exit code. On POSIX a child killed by a signal reports 128 + the signal number, as
    /// <see cref="Process.ExitCode"/> does (<see cref="ChildProcessExitStatus.Signal"/> names the signal).
    /// </summary>
    /// <exception cref="InvalidOperationException">The child has not exited yet.</exception>
    public int ExitCode => HasExited
        ? _waitState.Exit.GetAwaiter().GetResult().ExitCode
        : throw new InvalidOperationException(MustExitFirst);

    /// <summary>
    /// When the child started (local time), as <see cref="Process.StartTime"/> gives it: read from the system the first
    /// time it is asked for, then kept.
    /// </summary>
    /// <exception cref="InvalidOperationException">First asked for once the child has exited, with Process's message (the
    /// system no longer knows it then, as for Process on Linux; on Windows Process still asks its handle).</exception>
    public DateTime StartTime
    {
        get
        {
            if (_startTime is DateTime known)
                return known;
            string exited = $"Cannot process request because the process ({Id}) has exited.";
            if (_waitState.HasExited)
                throw new InvalidOperationException(exited);
            try
            {
                using Process process = Process.GetProcessById(Id);
                return (_startTime = process.StartTime).Value;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                throw new InvalidOperationException(exited, e); // it exited meanwhile
            }
        }
    }

    /// <summary>When the child's exit was noticed (local time), as <see cref="Process.ExitTime"/>.</summary>
    /// <exception cref="InvalidOperationException">The child has not exited yet, with Process's message.</exception>
    public DateTime ExitTime => HasExited
        ? _waitState.ExitTime
        : throw new InvalidOperationException(MustExitFirst);

    /// <summary>Waits for the child to exit, then for the streams read through <see cref="BeginOutputReadLine"/> and
    /// <see cref="BeginErrorReadLine"/> to end, as Process's does.</summary>
    public void WaitForExit() => WaitForExit(Timeout.Infinite);

    /// <summary>
    /// Waits at most <paramref name="milliseconds"/> (-1: no limit) for the child to exit. Without a limit it then waits
    /// for the streams read through the events to end; with one it does not (as Process's). Raises
    /// <see cref="Exited"/> before it returns, if <see cref="EnableRaisingEvents"/> is set and nothing has yet.
    /// </summary>
    /// <returns>Whether it has exited.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="milliseconds"/> is below -1.</exception>
    public bool WaitForExit(int milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(milliseconds, -1);
        bool exited = _waitState.WaitForExit(milliseconds);
        if (exited && milliseconds == Timeout.Infinite)
            WaitForEventedOutput();
        if (exited && _raisingEvents)
            RaiseExited();
        return exited;
    }

    /// <summary>As <see cref="WaitForExit(int)"/>, with <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).</summary>
    /// <returns>Whether it has exited.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or above
    /// <see cref="int.MaxValue"/> milliseconds, as for Process.</exception>
    public bool WaitForExit(TimeSpan timeout) => WaitForExit(ToTimeoutMilliseconds(timeout));

    /// <summary>
    /// Completes when the child has exited and the streams read through the events have ended; cancelling stops the
    /// wait, not the child. As with Process: a token already cancelled throws <see cref="OperationCanceledException"/>
    /// unless the child has exited, one cancelled during the wait <see cref="TaskCanceledException"/>, and the call sets
    /// <see cref="EnableRaisingEvents"/>.
    /// </summary>
    public async Task WaitForExitAsync(CancellationToken cancellationToken = default)
    {
        if (!HasExited)
            cancellationToken.ThrowIfCancellationRequested();
        EnableRaisingEvents = true;
        await _waitState.Exit.WaitAsync(cancellationToken).ConfigureAwait(false);
        await WaitForEventedOutputAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Terminates the child at once (SIGKILL; TerminateProcess on Windows). Does nothing once it has exited.</summary>
    /// <exception cref="ObjectDisposedException">The child is still running and this object was disposed.</exception>
    public void Kill() => _waitState.Signal(s_killNumber);

    /// <summary>Closes the redirected streams (and the terminal: see <see cref="Terminal"/>) and releases the process handle. The child keeps running.</summary>
    public void Dispose()
    {
        _disposed = true;
        StopEvents();
        _standardInput?.Dispose();
        _standardOutput?.Dispose();
        _outputStream?.Dispose();
        _standardError?.Dispose();
        _errorStream?.Dispose();
        _terminal?.Dispose();
        _waitState.Release();
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private const string MustExitFirst = "Process must exit before requested information can be determined.";

    /// <summary>A timeout as milliseconds for a wait, checked as Process checks it (-1 ms is infinite).</summary>
    internal static int ToTimeoutMilliseconds(TimeSpan timeout, string paramName = "timeout")
    {
        long milliseconds = (long)timeout.TotalMilliseconds;
        ArgumentOutOfRangeException.ThrowIfLessThan(milliseconds, -1, paramName);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(milliseconds, int.MaxValue, paramName);
        return (int)milliseconds;
    }
}
