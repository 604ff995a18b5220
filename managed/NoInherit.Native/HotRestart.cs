using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// A restart without downtime, as nginx's binary upgrade, Envoy's hot restart and Go's tableflip do it: the running
/// server starts its successor with its listening sockets (<see cref="StartSuccessorAsync"/>); the successor takes
/// them (<see cref="SocketActivation.TakeListeners"/>), starts serving and says so (<see cref="SignalReady"/>); only
/// then does the predecessor stop accepting, finish the requests in flight within its deadline, and exit. A connection
/// that arrives meanwhile waits in the listening socket's queue, which both processes share, and is accepted by
/// whichever process accepts first: none is refused, and the successor accepts once the predecessor has stopped.
/// </summary>
/// <remarks>
/// The readiness signal travels through a pipe named by the <c>NOINHERIT_READY</c> variable: on Unix its write end is one
/// more descriptor of the successor (after the sockets), which <see cref="SocketActivation.TakeListeners"/> makes
/// close-on-exec as it does the sockets; on Windows a named pipe of this user's that the successor connects to. The
/// variable is removed once taken.
/// </remarks>
public static class HotRestart
{
    internal const string ReadyVariable = "NOINHERIT_READY";

    private static readonly object s_lock = new();
    private static string? s_ready; // what ReadyChannel.Take kept: the descriptor (Unix) or the pipe's name (Windows)
    private static bool s_taken;

    /// <summary>
    /// Starts the successor of this process with <paramref name="listeners"/> (as
    /// <see cref="ChildProcessOptions.ListenSockets"/> passes them) and waits until it calls <see cref="SignalReady"/>.
    /// The caller then stops accepting on its own copies of the sockets, finishes the requests in flight and exits.
    /// </summary>
    /// <param name="startInfo">The successor (usually this program again). Its environment gains <c>NOINHERIT_READY</c>.</param>
    /// <param name="listeners">The listening sockets; they stay open here, for the requests still being served.</param>
    /// <param name="timeout">How long the successor may take to become ready; it is killed after that.</param>
    /// <param name="cancellationToken">Cancels the wait; the successor is then killed.</param>
    /// <returns>The successor, ready.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="listeners"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The successor exited, or closed the pipe, before it was ready.</exception>
    /// <exception cref="TimeoutException">It was not ready within <paramref name="timeout"/> (it has been killed).</exception>
    /// <exception cref="OperationCanceledException">The wait was cancelled (the successor has been killed).</exception>
    public static async Task<ChildProcess> StartSuccessorAsync(ProcessStartInfo startInfo, IList<ListenSocket> listeners, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        ArgumentNullException.ThrowIfNull(listeners);
        if (listeners.Count == 0)
            throw new ArgumentException("At least one listening socket is handed over.", nameof(listeners));
        var options = new ChildProcessOptions { ListenSockets = listeners };
        using ReadyChannel channel = ReadyChannel.Create(startInfo, options, SocketActivation.FirstDescriptor + listeners.Count);
        ChildProcess successor = ChildProcess.Start(startInfo, options);
        try
        {
            channel.Started(); // our write end closed (Unix): the read sees the end of the pipe once the successor's is closed too
            Task<bool> ready = channel.WaitAsync();
            Task exited = successor.WaitForExitAsync(CancellationToken.None);
            Task finished = await Task.WhenAny(ready, exited, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
            if (finished == ready && await ready.ConfigureAwait(false))
                return successor;
            if (finished == ready || finished == exited)
                throw new InvalidOperationException($"The successor (process {successor.Id}) exited, or closed its readiness pipe, before it was ready.");
            successor.Kill();
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"The successor (process {successor.Id}) was not ready within {timeout}; it has been killed.");
        }
        catch
        {
            successor.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Tells the predecessor that started this process with <see cref="StartSuccessorAsync"/> that this process is
    /// serving on the sockets it took: the predecessor then stops accepting and exits. Call it once the server listens.
    /// </summary>
    /// <returns>true if a predecessor was told; false if none waits (a first start, or a second call).</returns>
    public static bool SignalReady()
    {
        string? ready;
        lock (s_lock)
        {
            TakeReadyPipe();
            ready = s_ready;
            s_ready = null;
        }
        return ready != null && ReadyChannel.Signal(ready);
    }

    /// <summary>
    /// Takes the readiness pipe passed to this process, once: made close-on-exec, the variable removed (with the LISTEN_*
    /// ones, by <see cref="SocketActivation.TakeListeners"/>, so that no child of ours gets it).
    /// </summary>
    internal static void TakeReadyPipe()
    {
        lock (s_lock)
        {
            if (s_taken)
                return;
            s_taken = true;
            string? value = Environment.GetEnvironmentVariable(ReadyVariable);
            SocketActivation.RemoveVariables(ReadyVariable);
            s_ready = value is null ? null : ReadyChannel.Take(value);
        }
    }
}
