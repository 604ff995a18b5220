using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// The exit of one child, in the spirit of the runtime's ProcessWaitState: whether it has exited and how, the
/// threads and tasks waiting for it, signals sent to it, and the process handle (pidfd, HANDLE) it owns and closes.
/// The exit is noticed without a thread per child (starting one cost more than the spawn on a busy machine): on Linux
/// one background thread waits on the pidfds of all live children (ni_exit_watcher_wait); elsewhere on Unix (no
/// pidfds) a SIGCHLD handler, registered beside the runtime's own for Process, looks at each live child by its pid
/// alone (never waitpid(-1), so neither side takes the other's children); on Windows the thread pool waits on the
/// process handle; and where this process ignores SIGCHLD (no signal comes) a thread blocks on the exit. The child is
/// reaped only under the lock <see cref="Signal"/> holds, so a signal never reaches a recycled pid.
/// </summary>
internal sealed class ChildWaitState
{
    private Interop.ProcessInfo _process;
    private readonly object _gate = new();
    private readonly TaskCompletionSource<ChildProcessExitStatus> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _released;
    private bool _canceled; // killed by a timeout or a cancellation: the status says so
    private int _handleWaiters; // threads blocked on the process handle: it is closed only when none is
    private RegisteredWaitHandle? _registeredWait;

    internal ChildWaitState(Interop.ProcessInfo process)
    {
        _process = process;
        ProcessId = checked((int)process.Pid);
    }

    internal int ProcessId { get; }

    /// <summary>When the exit was recorded (local time); set before <see cref="Exit"/> completes.</summary>
    internal DateTime ExitTime { get; private set; }

    /// <summary>Completes with the exit status when the child has exited (faults if its status cannot be read).</summary>
    internal Task<ChildProcessExitStatus> Exit => _exit.Task;

    /// <summary>
    /// Whether the child has exited, asking it now (without blocking) when its exit is not recorded yet, as
    /// Process.HasExited does: the answer never waits for the exit notification to go through the thread pool.
    /// </summary>
    internal bool HasExited
    {
        get
        {
            if (!_exit.Task.IsCompleted)
                CheckForExit();
            return _exit.Task.IsCompleted;
        }
    }

    /// <summary>Starts watching for the exit; a child that has exited already is seen at once.</summary>
    internal unsafe void StartWatching()
    {
        if (OperatingSystem.IsWindows())
        {
            _registeredWait = ThreadPool.UnsafeRegisterWaitForSingleObject(new ProcessWaitHandle(_process.Handle),
                static (state, _) => ((ChildWaitState)state!).CheckForExit(), this, Timeout.Infinite, executeOnlyOnce: true);
            return;
        }
        if (s_sigchldIgnored.Value)
        {
            // No SIGCHLD will come: the runtime installs no handler for an ignored signal (and the kernel collects each
            // child itself; its status then comes from the pidfd, see ni_wait). A thread blocks on this exit instead.
            new Thread(static state => ((ChildWaitState)state!).BlockUntilExit()) { IsBackground = true, Name = "ChildProcess exit" }
                .UnsafeStart(this);
            return;
        }
        nint watcher = s_exitWatcher.Value;
        lock (s_live)
        {
            s_live[ProcessId] = this;
            Interop.ProcessInfo info = _process;
            if (watcher == Interop.INVALID_HANDLE || s_watcherFailed || Interop.ExitWatcherAdd(watcher, &info, ProcessId) != 0)
                s_childSignal ??= PosixSignalRegistration.Create(PosixSignal.SIGCHLD, static _ => CheckAllForExit());
        }
        CheckForExit(); // a child that exited before it was listed was reported (or sent its SIGCHLD) already
    }

    /// <summary>Waits at most <paramref name="milliseconds"/> (-1: no limit) for the exit; true once it has been recorded.</summary>
    internal bool WaitForExit(int milliseconds)
    {
        if (!_exit.Task.IsCompleted)
        {
            bool? exited = WaitOnHandle(milliseconds);
            if (exited == true)
                CheckForExit(); // records it now (unless the exit notification got there first)
            else if (exited == false)
                milliseconds = 0; // the time is up
        }
        try
        {
            return _exit.Task.Wait(milliseconds);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            throw e.InnerExceptions[0];
        }
    }

    /// <summary>
    /// Sends <paramref name="signal"/> unless the child has exited (false then). Under the lock that reaping takes, so
    /// the pid cannot have been recycled.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The <see cref="ChildProcess"/> was disposed.</exception>
    /// <param name="signal">The system's signal number.</param>
    /// <param name="cancel">A kill for a timeout or a cancellation: the exit status will say <see cref="ChildProcessExitStatus.Canceled"/>.</param>
    internal unsafe bool Signal(int signal, bool cancel = false)
    {
        lock (_gate)
        {
            if (_exit.Task.IsCompleted)
                return false;
            ObjectDisposedException.ThrowIf(_released, typeof(ChildProcess));
            _canceled |= cancel; // before the signal: the exit it causes is recorded under this lock, after it
            Interop.ProcessInfo info = _process;
            int error = Interop.Kill(&info, signal);
            if (error == 0)
                return true;
            CheckForExit(); // a signal that raced with the exit (access denied on a process that has just ended)
            if (!_exit.Task.IsCompleted)
                throw Errors.ForProcess(error);
            return false;
        }
    }

    /// <summary>Whether the child has a job of its own (Windows: CreateNewProcessGroup), which makes it lead a console group.</summary>
    internal bool HasJob => _process.Job != Interop.INVALID_HANDLE;

    /// <summary>
    /// Sends <paramref name="signal"/> to the child's whole tree (ni_kill_tree) or to the group it leads
    /// (ni_signal_group), under the lock that reaping takes. Unlike <see cref="Signal"/> it is sent after the exit too:
    /// the group of a child that has exited is still reached while any member lives.
    /// </summary>
    /// <returns>0, or the native error: ESRCH's kind when nothing was left to reach.</returns>
    /// <exception cref="ObjectDisposedException">The <see cref="ChildProcess"/> was disposed while the child runs.</exception>
    internal unsafe int SignalTree(int signal, bool groupOnly, bool cancel = false)
    {
        lock (_gate)
        {
            if (_released)
            {
                ObjectDisposedException.ThrowIf(!_exit.Task.IsCompleted, typeof(ChildProcess));
                return Interop.GetErrorCode(Interop.ErrorKind.ERR_SRCH); // its handles are gone: nothing to reach through them
            }
            _canceled |= cancel && !_exit.Task.IsCompleted;
            Interop.ProcessInfo info = _process;
            int error = groupOnly ? Interop.SignalGroup(&info, signal) : Interop.KillTree(&info, signal);
            if (error != 0 && Errors.Kind(error) != Interop.ErrorKind.ERR_SRCH)
                CheckForExit(); // a signal that raced with the exit (access denied on a process that has just ended)
            return error;
        }
    }

    /// <summary>
    /// Lets a child started suspended run its program (ni_process_resume). An exec failure is thrown as
    /// <paramref name="failure"/> makes it, and recorded as the child's outcome: it has exited (without running the
    /// program) and been collected, so its exit status is that exception.
    /// </summary>
    /// <exception cref="InvalidOperationException">Not started suspended, or resumed already.</exception>
    internal unsafe void Resume(Func<int, Exception> failure)
    {
        Exception? failed = null;
        lock (_gate)
        {
            if (_process.Resume == Interop.INVALID_HANDLE)
                throw new InvalidOperationException("The process was not started suspended, or has been resumed already.");
            int error;
            fixed (Interop.ProcessInfo* p = &_process)
                error = Interop.ProcessResume(p);
            if (error == 0 || Errors.Kind(error) == Interop.ErrorKind.ERR_SRCH)
                return; // running; or it died while it waited, which ni_wait_status tells
            failed = failure(error);
            ExitTime = DateTime.Now;
            _exit.TrySetException(failed);
            if (_released && _handleWaiters == 0)
                CloseHandle();
        }
        StopWatching();
        throw failed;
    }

    /// <summary>
    /// Gives up the process handle: closed now if the exit is recorded and no thread waits on it, else then. A child
    /// still suspended is let go without running its program (its resume handle is closed: it exits with 127).
    /// </summary>
    internal void Release()
    {
        lock (_gate)
        {
            if (_released)
                return;
            _released = true;
            if (_process.Resume != Interop.INVALID_HANDLE)
            {
                Interop.Close(_process.Resume);
                _process.Resume = Interop.INVALID_HANDLE;
            }
            if (_exit.Task.IsCompleted && _handleWaiters == 0)
                CloseHandle();
        }
    }

    /// <summary>
    /// Records the exit if the child has exited; reaps it on Unix. Does not block (ni_wait with a timeout of 0), but in
    /// one case: other code collected the child first (see ni_wait) and the kernel has not yet recorded its status in
    /// the pidfd. No further notification would come then, so the status is waited for here (ni_wait bounds that wait).
    /// </summary>
    private unsafe void CheckForExit()
    {
        lock (_gate)
        {
            if (_exit.Task.IsCompleted)
                return;
            Interop.ProcessInfo info = _process;
            int error = Interop.WaitStatus(&info, 0, out int exited, out int code, out int signal);
            if (error == 0 && exited == 0 && !OperatingSystem.IsWindows() && info.Handle != Interop.INVALID_HANDLE
                && Interop.WaitForExit(&info, 0, out int gone) == 0 && gone != 0)
            {
                error = Interop.WaitStatus(&info, Timeout.Infinite, out exited, out code, out signal);
            }
            if (error == 0 && exited == 0)
                return;
            ExitTime = DateTime.Now; // when it was noticed, as Process records it
            if (error != 0)
                _exit.TrySetException(Errors.ForProcess(error));
            else
                _exit.TrySetResult(new ChildProcessExitStatus(code, _canceled, signal == 0 ? null : (PosixSignal)signal));
            if (_released && _handleWaiters == 0)
                CloseHandle();
        }
        StopWatching();
    }

    /// <summary>Once the exit is recorded: no notification is needed any more.</summary>
    private void StopWatching()
    {
        if (_registeredWait != null)
            _registeredWait.Unregister(null);
        else
        {
            lock (s_live)
                s_live.Remove(ProcessId);
        }
    }

    /// <summary>
    /// Blocks in the kernel on the process handle (the pidfd; on Windows the process HANDLE) until the child exits or
    /// the time is up, without collecting it: the waiter wakes at the exit itself, where the task would complete only
    /// once the exit notification has gone through the thread pool (see docs/benchmarks.md).
    /// Null when there is no handle to wait on (Linux before 5.3) or the wait failed: the task is waited for instead.
    /// </summary>
    private unsafe bool? WaitOnHandle(int milliseconds)
    {
        Interop.ProcessInfo info;
        lock (_gate)
        {
            if (_process.Handle == Interop.INVALID_HANDLE)
                return null;
            info = _process;
            _handleWaiters++;
        }
        try
        {
            return Interop.WaitForExit(&info, milliseconds, out int exited) == 0 ? exited != 0 : null;
        }
        finally
        {
            lock (_gate)
            {
                if (--_handleWaiters == 0 && _released && _exit.Task.IsCompleted)
                    CloseHandle();
            }
        }
    }

    /// <summary>Where SIGCHLD is ignored: blocks until the exit, then records it.</summary>
    private unsafe void BlockUntilExit()
    {
        if (WaitOnHandle(Timeout.Infinite) == null)
        {
            Interop.ProcessInfo info = _process;
            info.Handle = Interop.INVALID_HANDLE; // waitid(WNOWAIT): returns at the exit
            Interop.WaitForExit(&info, Timeout.Infinite, out _);
        }
        CheckForExit();
    }

    private unsafe void CloseHandle()
    {
        fixed (Interop.ProcessInfo* p = &_process)
            Interop.ProcessClose(p);
    }

    // ---- Unix: SIGCHLD, for every live child (where the exit watcher cannot be had) ----

    private static readonly Dictionary<int, ChildWaitState> s_live = new();
    private static PosixSignalRegistration? s_childSignal;

    // ---- Linux: the pidfds of every live child, on one thread ----

    /// <summary>
    /// The exit watcher (ni_exit_watcher_create) and the background thread that waits on it; NI_INVALID_HANDLE where the
    /// system has none (not Linux). Preferred to SIGCHLD because the runtime runs PosixSignalRegistration handlers on the
    /// thread pool, whose workers then spin for about a millisecond after each child (looking for more work), taking a
    /// small machine's CPU from the next start (docs/benchmarks.md).
    /// </summary>
    private static readonly Lazy<nint> s_exitWatcher = new(static () =>
    {
        if (!OperatingSystem.IsLinux() || Interop.ExitWatcherCreate(out nint watcher) != 0)
            return Interop.INVALID_HANDLE;
        try
        {
            new Thread(static state => WatchExits((nint)state!)) { IsBackground = true, Name = "ChildProcess exits" }
                .UnsafeStart(watcher);
            return watcher;
        }
        catch (Exception e) when (e is OutOfMemoryException or ThreadStartException)
        {
            // No thread to be had now: SIGCHLD then, for good (a failed factory would fail every later start instead).
            Interop.Close(watcher);
            return Interop.INVALID_HANDLE;
        }
    });

    /// <summary>Set if the watcher's wait ever failed: every child is then watched through SIGCHLD.</summary>
    private static volatile bool s_watcherFailed;

    private static unsafe void WatchExits(nint watcher)
    {
        const int Capacity = 32;
        long* keys = stackalloc long[Capacity];
        while (Interop.ExitWatcherWait(watcher, Timeout.Infinite, keys, Capacity, out int count) == 0)
        {
            for (int i = 0; i < count; i++)
            {
                ChildWaitState? child;
                lock (s_live)
                    s_live.TryGetValue((int)keys[i], out child); // a pid reused since: that child is only asked
                child?.CheckForExit();
            }
        }
        // Not expected for a set this thread owns; the children it had go over to SIGCHLD.
        if (OperatingSystem.IsWindows())
            return;
        lock (s_live)
        {
            s_watcherFailed = true;
            s_childSignal ??= PosixSignalRegistration.Create(PosixSignal.SIGCHLD, static _ => CheckAllForExit());
        }
        CheckAllForExit();
    }

    private static void CheckAllForExit()
    {
        ChildWaitState[] live;
        lock (s_live)
            live = [.. s_live.Values];
        foreach (ChildWaitState child in live)
            child.CheckForExit();
    }

    /// <summary>
    /// Whether this process ignores SIGCHLD (inherited through exec: a parent set it). Linux: the SigIgn mask of
    /// /proc/self/status, where SIGCHLD is bit 17 on the architectures .NET runs on; elsewhere assumed not.
    /// </summary>
    private static readonly Lazy<bool> s_sigchldIgnored = new(static () =>
    {
        const ulong Sigchld = 1UL << (17 - 1);
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                    return (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & Sigchld) != 0;
            }
        }
        catch (IOException)
        {
        }
        return false;
    });

    /// <summary>Windows: the process handle, for the thread pool to wait on; owned by the <see cref="ChildWaitState"/>.</summary>
    private sealed class ProcessWaitHandle : WaitHandle
    {
        public ProcessWaitHandle(nint handle) => SafeWaitHandle = new SafeWaitHandle(handle, ownsHandle: false);
    }
}
