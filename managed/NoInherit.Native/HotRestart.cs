using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

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
/// The readiness signal travels through a pipe whose write end the successor gets as one more descriptor (after the
/// sockets), named by the <c>NOINHERIT_READY_FD</c> variable; <see cref="SocketActivation.TakeListeners"/> makes it
/// close-on-exec and removes the variable, as it does for the sockets. Unix only for now: on Windows the members throw
/// <see cref="PlatformNotSupportedException"/>.
/// </remarks>
public static class HotRestart
{
    internal const string ReadyVariable = "NOINHERIT_READY_FD";

    private static readonly object s_lock = new();
    private static SafeFileHandle? s_ready;
    private static bool s_taken;

    /// <summary>
    /// Starts the successor of this process with <paramref name="listeners"/> (as
    /// <see cref="ChildProcessOptions.ListenSockets"/> passes them) and waits until it calls <see cref="SignalReady"/>.
    /// The caller then stops accepting on its own copies of the sockets, finishes the requests in flight and exits.
    /// </summary>
    /// <param name="startInfo">The successor (usually this program again). Its environment gains <c>NOINHERIT_READY_FD</c>.</param>
    /// <param name="listeners">The listening sockets; they stay open here, for the requests still being served.</param>
    /// <param name="timeout">How long the successor may take to become ready; it is killed after that.</param>
    /// <param name="cancellationToken">Cancels the wait; the successor is then killed.</param>
    /// <returns>The successor, ready.</returns>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="listeners"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The successor exited, or closed the pipe, before it was ready.</exception>
    /// <exception cref="TimeoutException">It was not ready within <paramref name="timeout"/> (it has been killed).</exception>
    /// <exception cref="OperationCanceledException">The wait was cancelled (the successor has been killed).</exception>
    /// <exception cref="PlatformNotSupportedException">Windows.</exception>
    public static async Task<ChildProcess> StartSuccessorAsync(ProcessStartInfo startInfo, IList<ListenSocket> listeners, TimeSpan timeout,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        ArgumentNullException.ThrowIfNull(listeners);
        if (listeners.Count == 0)
            throw new ArgumentException("At least one listening socket is handed over.", nameof(listeners));
        ThrowIfWindows();
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle readEnd, out SafeFileHandle writeEnd);
        using var reader = new FileStream(readEnd, FileAccess.Read, 1);
        ChildProcess successor;
        using (writeEnd)
        {
            int readyDescriptor = SocketActivation.FirstDescriptor + listeners.Count;
            startInfo.Environment[ReadyVariable] = readyDescriptor.ToString(CultureInfo.InvariantCulture);
            var options = new ChildProcessOptions
            {
                ListenSockets = listeners,
                InheritedHandlesByNumber = new Dictionary<int, System.Runtime.InteropServices.SafeHandle> { [readyDescriptor] = writeEnd },
            };
            successor = ChildProcess.Start(startInfo, options);
        } // our write end closed: the read sees the end of the pipe once the successor's copy is closed too
        try
        {
            Task<int> read = Task.Run(() => reader.Read(new byte[1], 0, 1));
            Task finished = await Task.WhenAny(read, Task.Delay(timeout, cancellationToken)).ConfigureAwait(false);
            if (finished != read)
            {
                successor.Kill();
                await read.ConfigureAwait(false); // ends with the successor
                cancellationToken.ThrowIfCancellationRequested();
                throw new TimeoutException($"The successor (process {successor.Id}) was not ready within {timeout}; it has been killed.");
            }
            if (await read.ConfigureAwait(false) != 1)
                throw new InvalidOperationException($"The successor (process {successor.Id}) exited, or closed its readiness pipe, before it was ready.");
            return successor;
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
        SafeFileHandle? ready;
        lock (s_lock)
        {
            TakeReadyPipe();
            ready = s_ready;
            s_ready = null;
        }
        if (ready is null)
            return false;
        using (ready)
        using (var stream = new FileStream(ready, FileAccess.Write, 1))
        {
            try
            {
                stream.WriteByte(1);
                stream.Flush();
            }
            catch (IOException)
            {
                return false; // the predecessor gave up waiting (its read end is closed)
            }
        }
        return true;
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
            if (OperatingSystem.IsWindows() || value is null
                || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int descriptor) || descriptor < 3)
            {
                return;
            }
            var handle = new SafeFileHandle(descriptor, ownsHandle: true);
            if (Interop.SetInheritable(handle, 0) != 0)
            {
                handle.SetHandleAsInvalid(); // not open: nothing was passed
                return;
            }
            s_ready = handle;
        }
    }

    private static void ThrowIfWindows()
    {
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException("HotRestart is not supported on Windows yet.");
    }
}
