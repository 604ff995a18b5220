using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
    // The event-driven reading of Process (BeginOutputReadLine and its events) and its Exited event, with Process's
    // rules and messages: a stream is read either through its reader (StandardOutput, the ReadAll methods) or through
    // the events, never both.
    private AsyncLineReader? _outputLines, _errorLines;
    private bool _outputAsync, _errorAsync; // read through the events (set even when the call then failed, as Process's)
    private bool _outputPending, _errorPending; // begun and not cancelled
    private volatile bool _raisingEvents;
    private int _exitWatched, _exitedRaised;

    /// <summary>
    /// Raised for each line of standard output once <see cref="BeginOutputReadLine"/> has been called, on a thread-pool
    /// thread, with the line without its end; at end-of-file, once, with <see cref="DataReceivedEventArgs.Data"/> null.
    /// The sender is this object. As <see cref="Process.OutputDataReceived"/>.
    /// </summary>
    public event DataReceivedEventHandler? OutputDataReceived;

    /// <summary>As <see cref="OutputDataReceived"/>, for standard error and <see cref="BeginErrorReadLine"/>.</summary>
    public event DataReceivedEventHandler? ErrorDataReceived;

    /// <summary>
    /// Raised once when the child has exited: on a thread-pool thread if <see cref="EnableRaisingEvents"/> is true when it
    /// exits (or is set after), by <see cref="WaitForExit()"/> on the waiting thread if it is true then, and by
    /// <see cref="HasExited"/> (and <see cref="ExitCode"/>) when they find the child gone, as <see cref="Process.Exited"/>
    /// is. Never after <see cref="Dispose"/>.
    /// </summary>
    public event EventHandler? Exited;

    /// <summary>
    /// Whether <see cref="Exited"/> is raised when the child exits, as <see cref="Process.EnableRaisingEvents"/>.
    /// <see cref="WaitForExitAsync"/> sets it, as Process's does.
    /// </summary>
    public bool EnableRaisingEvents
    {
        get => _raisingEvents;
        set
        {
            _raisingEvents = value;
            if (value && Interlocked.Exchange(ref _exitWatched, 1) == 0)
            {
                _waitState.Exit.ContinueWith(static (_, state) => ((ChildProcess)state!).OnExitNoticed(), this,
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    /// <summary>
    /// Starts reading standard output line by line, raising <see cref="OutputDataReceived"/> for each line, as
    /// <see cref="Process.BeginOutputReadLine"/> does; after <see cref="CancelOutputRead"/>, takes the events up again.
    /// </summary>
    /// <exception cref="InvalidOperationException">Standard output was not redirected (or this object was disposed), was
    /// read through <see cref="StandardOutput"/> or a ReadAll method, or is being read through the events already; with
    /// Process's messages.</exception>
    public void BeginOutputReadLine() =>
        BeginReadLine(ref _outputAsync, ref _outputPending, ref _outputLines, _outputUsed, _disposed ? null : _outputStream,
            _outputEncoding, StandardOutputMissing, static (child, line) => child.OutputDataReceived?.Invoke(child, BclInternals.NewDataReceivedEventArgs(line)));

    /// <summary>As <see cref="BeginOutputReadLine"/>, for standard error and <see cref="ErrorDataReceived"/>.</summary>
    /// <exception cref="InvalidOperationException">As for <see cref="BeginOutputReadLine"/>, for standard error.</exception>
    public void BeginErrorReadLine() =>
        BeginReadLine(ref _errorAsync, ref _errorPending, ref _errorLines, _errorUsed, _disposed ? null : _errorStream,
            _errorEncoding, StandardErrorMissing, static (child, line) => child.ErrorDataReceived?.Invoke(child, BclInternals.NewDataReceivedEventArgs(line)));

    /// <summary>
    /// Stops raising <see cref="OutputDataReceived"/>; the lines that arrive meanwhile are dropped, as Process drops them.
    /// <see cref="BeginOutputReadLine"/> takes the events up again.
    /// </summary>
    /// <exception cref="InvalidOperationException">No event-driven read was begun.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public void CancelOutputRead() => CancelRead(_outputLines, ref _outputPending);

    /// <summary>As <see cref="CancelOutputRead"/>, for standard error.</summary>
    /// <exception cref="InvalidOperationException">No event-driven read was begun.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public void CancelErrorRead() => CancelRead(_errorLines, ref _errorPending);

    private const string StandardOutputMissing = "StandardOut has not been redirected or the process hasn't started yet.";
    private const string StandardErrorMissing = "StandardError has not been redirected.";
    private const string MixedReads = "Cannot mix synchronous and asynchronous operation on process stream.";

    /// <summary>Process's checks, in Process's order, then the reading started (once) or resumed.</summary>
    private void BeginReadLine(ref bool async, ref bool pending, ref AsyncLineReader? reader, bool readOtherwise, Stream? stream,
        Encoding encoding, string missing, Action<ChildProcess, string?> raise)
    {
        if (readOtherwise)
            throw new InvalidOperationException(MixedReads);
        async = true;
        if (pending)
            throw new InvalidOperationException("An async read operation has already been started on the stream.");
        pending = true;
        if (reader is null)
        {
            if (stream is null)
                throw new InvalidOperationException(missing);
            BclInternals.NewDataReceivedEventArgs(null); // a runtime without it fails here, not on a reading thread
            reader = new AsyncLineReader(stream, encoding, line => raise(this, line));
        }
        reader.Begin();
    }

    private void CancelRead(AsyncLineReader? reader, ref bool pending)
    {
        ThrowIfDisposed();
        if (reader is null)
            throw new InvalidOperationException("No async read operation is in progress on the stream.");
        reader.Cancel();
        pending = false;
    }

    /// <summary>Waits until the streams read through the events have ended (WaitForExit() waits for that, as Process's).</summary>
    private void WaitForEventedOutput()
    {
        _outputLines?.Completion.GetAwaiter().GetResult();
        _errorLines?.Completion.GetAwaiter().GetResult();
    }

    private async Task WaitForEventedOutputAsync(CancellationToken cancellationToken)
    {
        if (_outputLines != null)
            await _outputLines.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_errorLines != null)
            await _errorLines.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The exit is recorded (a thread-pool thread, once EnableRaisingEvents was set).</summary>
    private void OnExitNoticed()
    {
        if (_raisingEvents)
            RaiseExited();
    }

    /// <summary>Raises <see cref="Exited"/> unless it has been raised or this object was disposed.</summary>
    private void RaiseExited()
    {
        if (!_disposed && Interlocked.Exchange(ref _exitedRaised, 1) == 0)
            Exited?.Invoke(this, EventArgs.Empty);
    }

    /// <summary>Dispose: no more events, and the reading loops stop before their streams are closed.</summary>
    private void StopEvents()
    {
        _outputLines?.Stop();
        _errorLines?.Stop();
    }
}
