using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
    /// <summary>This system's number for SIGTERM; Windows has none (0).</summary>
    private static readonly int s_termNumber = Interop.SignalNumber((int)PosixSignal.SIGTERM);

    /// <summary>Windows: what ni_signal_group takes as "send CTRL_BREAK_EVENT to the group" (any number but 0 and
    /// SIGKILL's 9).</summary>
    private const int WindowsBreakSignal = 15;

    /// <summary>The bounded drain of the redirected outputs (<see cref="ChildProcessOptions.OutputDrainTimeout"/>), or null.</summary>
    private OutputDrain? _drain;

    /// <summary>
    /// Whether a reader of the redirected standard output or standard error was given end-of-file because
    /// <see cref="ChildProcessOptions.OutputDrainTimeout"/> ran out after the child had exited while the pipe was still
    /// open (a descendant held it): what the child's tree wrote after that, or had written but nobody had read by then, is
    /// lost. Always false without a drain timeout.
    /// </summary>
    public bool OutputTruncated => _drain?.Truncated ?? false;

    /// <summary>
    /// Terminates the child, and with <paramref name="entireProcessTree"/> every descendant of it, as
    /// <see cref="System.Diagnostics.Process.Kill(bool)"/> does (SIGKILL; TerminateProcess or TerminateJobObject on
    /// Windows). Unlike Process's walk, descendants that are forking while it runs are reached too: each process found
    /// is stopped at once and the process list read again until nothing new turns up.
    /// </summary>
    /// <remarks>
    /// <para>What the tree is depends on how the child was started. With <see cref="ChildProcessOptions.CreateNewProcessGroup"/>
    /// (or <see cref="ChildProcessOptions.StartDetached"/> on Unix) the child leads a process group, on Windows a job of its
    /// own: every descendant is reached, those whose parent has died included, and on Windows any at all, since none can
    /// leave the job; on Unix also after the child itself has exited, while any member of its group lives. Unix: a
    /// descendant that left the group (setsid, setpgid) is reached while its parent lives, not once it has been handed to
    /// init (a daemon that forked twice). Without such an option (the child is then in this process's group, as
    /// Process.Start's children are, so that Ctrl-C and the terminal reach it as usual): the descendants found by
    /// parentage, as Process.Kill(true) finds them (Linux: in /proc, not an orphan handed to init; Windows: by parent
    /// process id, not one whose parent had ended before it was found). docs/architecture.md has the reasons and a
    /// table.</para>
    /// </remarks>
    /// <param name="entireProcessTree">Also terminate the child's descendants.</param>
    /// <exception cref="ObjectDisposedException">The child is still running and this object was disposed.</exception>
    /// <exception cref="Win32Exception">The system refused the signal.</exception>
    public void Kill(bool entireProcessTree)
    {
        if (!entireProcessTree)
        {
            Kill();
            return;
        }
        KillTree(cancel: false);
    }

    /// <summary>
    /// Stops the child gracefully: asks it to stop, waits at most <paramref name="gracePeriod"/> for it to exit, and then
    /// kills its whole tree (<see cref="Kill(bool)"/>). Unix: SIGTERM, to the group the child leads
    /// (<see cref="ChildProcessOptions.CreateNewProcessGroup"/>, <see cref="ChildProcessOptions.StartDetached"/>) so that
    /// what it started gets it too, else to the child alone. Windows: CTRL_BREAK_EVENT to the group of a child started
    /// with <see cref="ChildProcessOptions.CreateNewProcessGroup"/> and attached to this process's console; any other
    /// child, or when the event cannot be sent (this process has no console), is killed at once, as Windows has no
    /// other request to stop. Cancelling <paramref name="cancellationToken"/> ends the grace period at once: the tree is
    /// killed then.
    /// </summary>
    /// <param name="gracePeriod">How long the child may take to exit by itself; <see cref="Timeout.InfiniteTimeSpan"/>:
    /// no limit (only the token ends it).</param>
    /// <param name="cancellationToken">Kills at once when cancelled (one cancelled already skips the request).</param>
    /// <returns>How the child ended: when it exited within the grace period, its own status
    /// (<see cref="ChildProcessExitStatus.Canceled"/> false; <see cref="ChildProcessExitStatus.Signal"/> SIGTERM when that
    /// ended it, null when it caught it and exited); when it had to be killed, Canceled true (and SIGKILL on Unix). A child
    /// that had exited already gives the status it exited with.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gracePeriod"/> is negative (but infinite) or above
    /// <see cref="int.MaxValue"/> milliseconds.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    /// <exception cref="Win32Exception">The system refused the signal.</exception>
    public async Task<ChildProcessExitStatus> StopAsync(TimeSpan gracePeriod, CancellationToken cancellationToken = default)
    {
        int graceMilliseconds = ToTimeoutMilliseconds(gracePeriod, nameof(gracePeriod));
        ThrowIfDisposed();
        Task<ChildProcessExitStatus> exit = _waitState.Exit;
        if (!_waitState.HasExited && !cancellationToken.IsCancellationRequested && AskToStop())
        {
            using var graceOver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(exit, Task.Delay(graceMilliseconds, graceOver.Token)).ConfigureAwait(false);
            graceOver.Cancel(); // ends the delay when the exit came first
        }
        if (!exit.IsCompleted)
            KillTree(cancel: true);
        return await exit.ConfigureAwait(false);
    }

    /// <summary>Sends the request to stop; false when this system has none for this child (then it is killed).</summary>
    private bool AskToStop()
    {
        if (OperatingSystem.IsWindows() && !_waitState.HasJob)
            return false; // no group of its own: a console event would go to every process on the console, ours too
        int error = _waitState.SignalTree(OperatingSystem.IsWindows() ? WindowsBreakSignal : s_termNumber, groupOnly: true);
        if (error == 0 || Errors.Kind(error) == Interop.ErrorKind.ERR_SRCH || _waitState.HasExited)
            return true; // sent, or it has exited meanwhile
        if (OperatingSystem.IsWindows())
            return false; // GenerateConsoleCtrlEvent failed: no console to send it through
        throw Errors.ForProcess(error);
    }

    /// <summary>SIGKILL to the whole tree (ni_kill_tree); nothing left to reach is no error.</summary>
    private void KillTree(bool cancel)
    {
        int error = _waitState.SignalTree(s_killNumber, groupOnly: false, cancel);
        if (error != 0 && Errors.Kind(error) != Interop.ErrorKind.ERR_SRCH && !_waitState.HasExited)
            throw Errors.ForProcess(error);
    }
}
