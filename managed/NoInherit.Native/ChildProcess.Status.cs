using System;
using System.ComponentModel;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
    /// <summary>
    /// Sends <paramref name="signal"/> to the child, as .NET 11's <c>Process.Signal</c> does. Unix: any signal of this
    /// system, by its portable name (<see cref="PosixSignal.SIGTERM"/>...; SIGKILL is <c>(PosixSignal)(-11)</c> on
    /// net8.0 and net10.0) or its raw number; through the pidfd where there is one, so a recycled pid is never hit.
    /// Windows: SIGKILL only, which terminates the child (<see cref="Kill()"/>).
    /// </summary>
    /// <returns>True when the signal was sent; false when the child had already exited.</returns>
    /// <exception cref="PlatformNotSupportedException">This system has no such signal (Windows: any but SIGKILL; 0, an
    /// unknown negative value or a number past the last signal anywhere), as .NET 11 refuses it.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public bool Signal(PosixSignal signal)
    {
        ThrowIfDisposed();
        int number = Interop.SignalNumber((int)signal);
        if (number == 0)
            throw Errors.ForUnsupportedSignal(signal);
        return _waitState.Signal(number);
    }

    /// <summary>
    /// Lets a child started with <see cref="ChildProcessOptions.StartSuspended"/> run its program, as .NET 11's
    /// <c>SafeProcessHandle.Resume</c> does. Unix: returns once the program is executing, or throws the exec failure
    /// (the child has then exited and been collected).
    /// </summary>
    /// <exception cref="InvalidOperationException">The child was not started suspended, or has been resumed.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    /// <exception cref="Win32Exception">Unix: the program could not be executed (not found, not executable), as
    /// <see cref="Start(ProcessStartInfo, ChildProcessOptions)"/> reports it without StartSuspended; the child has exited,
    /// and waiting for it throws the same exception.</exception>
    public void Resume()
    {
        ThrowIfDisposed();
        _waitState.Resume(error => Errors.ForStart(error, _program, _workingDirectory!));
    }

    /// <summary>Waits for the child to exit, as .NET 11's <c>Process.WaitForExitStatus</c>.</summary>
    /// <returns>How it ended.</returns>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public ChildProcessExitStatus WaitForExitStatus()
    {
        ThrowIfDisposed();
        _waitState.WaitForExit(Timeout.Infinite);
        return _waitState.Exit.GetAwaiter().GetResult();
    }

    /// <summary>Waits at most <paramref name="timeout"/> for the child to exit, as .NET 11's <c>Process.TryWaitForExitStatus</c>.</summary>
    /// <param name="timeout">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/>: no limit.</param>
    /// <param name="exitStatus">How it ended, when it has.</param>
    /// <returns>Whether it exited within the time.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or above
    /// <see cref="int.MaxValue"/> milliseconds.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public bool TryWaitForExitStatus(TimeSpan timeout, [NotNullWhen(true)] out ChildProcessExitStatus? exitStatus)
    {
        int milliseconds = ToTimeoutMilliseconds(timeout);
        ThrowIfDisposed();
        exitStatus = _waitState.WaitForExit(milliseconds) ? _waitState.Exit.GetAwaiter().GetResult() : null;
        return exitStatus != null;
    }

    /// <summary>
    /// Completes with the exit status when the child exits, as .NET 11's <c>Process.WaitForExitStatusAsync</c>;
    /// cancelling stops the wait (<see cref="TaskCanceledException"/>, as there), not the child. A child that has
    /// exited gives its status whatever the token says.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public Task<ChildProcessExitStatus> WaitForExitStatusAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        return _waitState.HasExited ? _waitState.Exit : _waitState.Exit.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Waits at most <paramref name="timeout"/> for the child to exit, and kills it (SIGKILL, TerminateProcess) if it has
    /// not, then waits for that, as .NET 11's <c>SafeProcessHandle.WaitForExitOrKillOnTimeout</c>.
    /// </summary>
    /// <returns>How it ended; <see cref="ChildProcessExitStatus.Canceled"/> when it was killed here.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or above
    /// <see cref="int.MaxValue"/> milliseconds.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public ChildProcessExitStatus WaitForExitOrKillOnTimeout(TimeSpan timeout)
    {
        int milliseconds = ToTimeoutMilliseconds(timeout);
        ThrowIfDisposed();
        if (!_waitState.WaitForExit(milliseconds))
        {
            _waitState.Signal(s_killNumber, cancel: true);
            _waitState.WaitForExit(Timeout.Infinite);
        }
        return _waitState.Exit.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Completes with the exit status when the child exits; when <paramref name="cancellationToken"/> is cancelled first,
    /// kills the child and completes once it has exited, as .NET 11's
    /// <c>SafeProcessHandle.WaitForExitOrKillOnCancellationAsync</c>. A token that cannot be cancelled waits for the exit.
    /// </summary>
    /// <returns>How it ended; <see cref="ChildProcessExitStatus.Canceled"/> when it was killed here.</returns>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public async Task<ChildProcessExitStatus> WaitForExitOrKillOnCancellationAsync(CancellationToken cancellationToken)
    {
        ThrowIfDisposed();
        if (!cancellationToken.CanBeCanceled || _waitState.HasExited)
            return await _waitState.Exit.ConfigureAwait(false);
        // A kill that fails (it cannot, for our own child, short of the system refusing) ends the wait with its error.
        var killFailed = new TaskCompletionSource<ChildProcessExitStatus>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.UnsafeRegister(static state =>
               {
                   var (child, failed) = ((ChildProcess, TaskCompletionSource<ChildProcessExitStatus>))state!;
                   try
                   {
                       child._waitState.Signal(s_killNumber, cancel: true);
                   }
                   catch (Exception e)
                   {
                       failed.TrySetException(e);
                   }
               }, (this, killFailed)))
        {
            Task<ChildProcessExitStatus> first = await Task.WhenAny(_waitState.Exit, killFailed.Task).ConfigureAwait(false);
            return await first.ConfigureAwait(false);
        }
    }
}
