using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// A child process that receives exactly the handles it is given, and nothing else: not the
/// descriptors or handles that other code in this process left inheritable. It stands beside
/// <see cref="Process.Start(ProcessStartInfo)"/> (and .NET 11's <c>ProcessStartInfo.InheritedHandles</c>),
/// takes the same <see cref="ProcessStartInfo"/>, and works on net8.0 and net10.0, with sockets, and
/// with descriptor numbers of your choosing on Linux (as systemd socket activation passes them).
/// </summary>
/// <remarks>
/// Where it differs from Process: the exit status of a child is collected by its pid alone, so
/// <see cref="Process"/> children of the same process and these never take each other's. On Windows no handle of this
/// process is made inheritable, even for a moment; the child's parent process id is then that of a helper process,
/// and a handle passed by value has another value in the child: an argument that is exactly a passed handle's value,
/// in decimal (as <see cref="System.IO.Pipes.AnonymousPipeServerStream.GetClientHandleAsString"/> writes it) or 0x hex,
/// is rewritten to the child's value. How it is done on each system: docs/architecture.md.
/// </remarks>
public sealed partial class ChildProcess : IDisposable
{
    private readonly ChildWaitState _waitState;
    private readonly StreamWriter? _standardInput;
    private readonly StreamReader? _standardOutput;
    private readonly StreamReader? _standardError;

    private ChildProcess(ChildWaitState waitState, StreamWriter? standardInput, StreamReader? standardOutput, StreamReader? standardError)
    {
        _waitState = waitState;
        _standardInput = standardInput;
        _standardOutput = standardOutput;
        _standardError = standardError;
    }

    /// <summary>The child's process id.</summary>
    public int Id => _waitState.ProcessId;

    /// <summary>Writes to the child's standard input (<see cref="ProcessStartInfo.RedirectStandardInput"/>); auto-flushed.</summary>
    /// <exception cref="InvalidOperationException">Standard input was not redirected.</exception>
    public StreamWriter StandardInput => _standardInput ?? throw new InvalidOperationException("StandardIn has not been redirected.");

    /// <summary>Reads the child's standard output (<see cref="ProcessStartInfo.RedirectStandardOutput"/>).</summary>
    /// <exception cref="InvalidOperationException">Standard output was not redirected.</exception>
    public StreamReader StandardOutput => _standardOutput ?? throw new InvalidOperationException("StandardOut has not been redirected or the process hasn't started yet.");

    /// <summary>Reads the child's standard error (<see cref="ProcessStartInfo.RedirectStandardError"/>).</summary>
    /// <exception cref="InvalidOperationException">Standard error was not redirected.</exception>
    public StreamReader StandardError => _standardError ?? throw new InvalidOperationException("StandardError has not been redirected.");

    /// <summary>Whether the child has exited.</summary>
    public bool HasExited => _waitState.Exit.IsCompleted;

    /// <summary>
    /// The child's exit code. On POSIX a child killed by a signal reports 128 + the signal number, as
    /// <see cref="Process.ExitCode"/> does.
    /// </summary>
    /// <exception cref="InvalidOperationException">The child has not exited yet.</exception>
    public int ExitCode => _waitState.Exit.IsCompleted
        ? _waitState.Exit.GetAwaiter().GetResult()
        : throw new InvalidOperationException("Process must exit before requested information can be determined.");

    /// <summary>Waits for the child to exit.</summary>
    public void WaitForExit() => WaitForExit(Timeout.Infinite);

    /// <summary>Waits at most <paramref name="milliseconds"/> (-1: no limit) for the child to exit.</summary>
    /// <returns>Whether it has exited.</returns>
    public bool WaitForExit(int milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(milliseconds, -1);
        return _waitState.WaitForExit(milliseconds);
    }

    /// <summary>Waits at most <paramref name="timeout"/> for the child to exit.</summary>
    /// <returns>Whether it has exited.</returns>
    public bool WaitForExit(TimeSpan timeout) => WaitForExit(checked((int)timeout.TotalMilliseconds));

    /// <summary>Completes when the child exits; cancelling stops the wait, not the child.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _waitState.Exit.WaitAsync(cancellationToken);

    /// <summary>Terminates the child at once (SIGKILL; TerminateProcess on Windows). Does nothing once it has exited.</summary>
    /// <exception cref="ObjectDisposedException">The child is still running and this object was disposed.</exception>
    public void Kill() => _waitState.Signal(Interop.KillSignal);

    /// <summary>Closes the redirected streams and releases the process handle. The child keeps running.</summary>
    public void Dispose()
    {
        _standardInput?.Dispose();
        _standardOutput?.Dispose();
        _standardError?.Dispose();
        _waitState.Release();
    }
}
