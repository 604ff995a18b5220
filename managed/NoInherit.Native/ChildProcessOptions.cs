using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>
/// What <see cref="ChildProcess.Start(ProcessStartInfo, ChildProcessOptions)"/> gives the child besides what its
/// <see cref="ProcessStartInfo"/> says: .NET 11's new <see cref="ProcessStartInfo"/> properties (same names and meaning),
/// on every target framework, with any kind of handle, and handles under numbers of your choosing.
/// </summary>
/// <remarks>
/// On .NET 11 and later the same properties of the <see cref="ProcessStartInfo"/> itself are honoured too: a handle
/// list there is added to this one, a flag set on either counts, and a standard handle may be given by one of them
/// only. A property that cannot be honoured on this system throws <see cref="PlatformNotSupportedException"/> naming
/// it and the system; none is ignored.
/// </remarks>
public sealed class ChildProcessOptions
{
    /// <summary>
    /// Handles the child receives under their own numbers (values on Windows), besides its standard streams: files,
    /// pipes, sockets, any <see cref="SafeHandle"/> (.NET 11's <c>ProcessStartInfo.InheritedHandles</c> takes files and
    /// pipes only). They need not be inheritable, and are not made so in this process, even for a moment. Null or
    /// empty: none. Windows: pass a handle's value to the child as a whole argument (decimal or 0x hex); it is
    /// rewritten to the value the child gets.
    /// </summary>
    public IList<SafeHandle>? InheritedHandles { get; set; }

    /// <summary>
    /// Handles the child receives under the numbers that are their keys: 3 and up for extra descriptors, as systemd
    /// socket activation passes them (Linux). Windows cannot choose the value a handle gets in another process: a key
    /// there must be the handle's own value, and the handle is passed by value as with <see cref="InheritedHandles"/>.
    /// A key of 0, 1 or 2 replaces that standard stream (as <see cref="StandardInputHandle"/> and the others do); two
    /// handles for one number are refused.
    /// </summary>
    public IDictionary<int, SafeHandle>? InheritedHandlesByNumber { get; set; }

    /// <summary>
    /// Sockets the child receives by socket activation, as systemd passes them (sd_listen_fds(3)): on Unix under the
    /// descriptors 3, 4, ... in order, with <c>LISTEN_FDS</c> (their count), <c>LISTEN_FDNAMES</c> (their names, joined
    /// by ':') and <c>LISTEN_PID</c> (the child's own pid, written in the child before it executes the program) in its
    /// environment; any <c>LISTEN_*</c> variable given otherwise is replaced. On Windows each socket is duplicated for
    /// the child (WSADuplicateSocketW) and its protocol information sent through a pipe the child is given. The child
    /// takes them with <see cref="SocketActivation.TakeListeners"/> (or sd_listen_fds). Null or empty: none.
    /// </summary>
    public IList<ListenSocket>? ListenSockets { get; set; }

    /// <summary>The child's standard input: any readable handle (a file, a pipe, a socket, the null device). Null: this
    /// process's own standard input, or a pipe when <see cref="ProcessStartInfo.RedirectStandardInput"/> is set, which
    /// cannot be combined with this.</summary>
    public SafeHandle? StandardInputHandle { get; set; }

    /// <summary>The child's standard output: any writable handle. Null: this process's own, or a pipe when
    /// <see cref="ProcessStartInfo.RedirectStandardOutput"/> is set, which cannot be combined with this.</summary>
    public SafeHandle? StandardOutputHandle { get; set; }

    /// <summary>The child's standard error: any writable handle. Null: this process's own, or a pipe when
    /// <see cref="ProcessStartInfo.RedirectStandardError"/> is set, which cannot be combined with this.</summary>
    public SafeHandle? StandardErrorHandle { get; set; }

    /// <summary>
    /// The child is killed when this process ends, however it ends (an exit, a crash, SIGKILL), as with .NET 11's
    /// <c>ProcessStartInfo.KillOnParentExit</c>. Descendants of the child are not covered.
    /// </summary>
    public bool KillOnParentExit { get; set; }

    /// <summary>
    /// The child starts detached, as with .NET 11's <c>ProcessStartInfo.StartDetached</c>: on Unix the leader of a new
    /// session without a controlling terminal, on Windows without this process's console; a standard stream neither
    /// redirected nor given a handle is the null device. It outlives this process.
    /// </summary>
    public bool StartDetached { get; set; }

    /// <summary>
    /// The child is started suspended, as with .NET 11's <c>ProcessStartInfo.StartSuspended</c>, and runs its program
    /// only once <see cref="ChildProcess.Resume"/> is called. On Unix (where .NET 11 refuses it) the child is ready, with
    /// its descriptors, directory and environment in place, and waits before it executes the program; an exec failure
    /// is then reported by <see cref="ChildProcess.Resume"/>. Windows: CREATE_SUSPENDED.
    /// </summary>
    public bool StartSuspended { get; set; }

    /// <summary>
    /// The child leads a new process group, as with <c>ProcessStartInfo.CreateNewProcessGroup</c> (.NET 10+, Windows only
    /// there): on Unix setpgid, so that a Ctrl-C of this process's terminal does not reach it; on Windows
    /// CREATE_NEW_PROCESS_GROUP.
    /// </summary>
    public bool CreateNewProcessGroup { get; set; }

    /// <summary>
    /// Starts the child on a new pseudo-terminal of this size (Unix: a pty, whose slave becomes the child's standard
    /// input, output and error and the controlling terminal of a new session the child leads; Windows 10 1809+: a
    /// pseudo console). Talk to it through <see cref="ChildProcess.Terminal"/>, resize it with
    /// <see cref="ChildProcess.ResizeTerminal"/>. Our side of the terminal is never inheritable: no other child gets it.
    /// It cannot be combined with the Redirect* properties, the standard handles, a handle numbered 0, 1 or 2, or
    /// <see cref="StartDetached"/>; on Windows not with other handles passed either. Null: no terminal.
    /// </summary>
    public PseudoTerminalSize? PseudoTerminal { get; set; }

    /// <summary>
    /// How long, once the child has exited, readers of its redirected standard output and standard error may still wait
    /// for data (Go's <c>Cmd.WaitDelay</c>; .NET has none). A descendant that inherited a pipe (<c>sh -c 'daemon &amp;'</c>)
    /// keeps it open after the child exits, and a reader then waits as long as that descendant lives. With this set,
    /// every reader (<see cref="ChildProcess.StandardOutput"/>, the ReadAll methods, RunAndCaptureText) gets end-of-file
    /// by then instead, with what was read returned, our end of the pipe is closed, and
    /// <see cref="ChildProcess.OutputTruncated"/> says so. Data not read by then is lost. Null (the default) or
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/>: readers wait for end-of-file, as Process's do.
    /// </summary>
    /// <remarks>Start throws <see cref="ArgumentOutOfRangeException"/> for a negative value (but infinite) or one above
    /// <see cref="int.MaxValue"/> milliseconds.</remarks>
    public TimeSpan? OutputDrainTimeout { get; set; }
}
