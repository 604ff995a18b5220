using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// A child process that receives exactly the handles it is given, and nothing else: not the
/// descriptors or handles that other code in this process left inheritable. It stands beside
/// <see cref="Process.Start(ProcessStartInfo)"/> (and .NET 11's <c>ProcessStartInfo.InheritedHandles</c>),
/// takes the same <see cref="ProcessStartInfo"/>, and works on net8.0 and net10.0, with sockets, and
/// with descriptor numbers of your choosing on Linux (as systemd socket activation passes them).
/// </summary>
/// <remarks>
/// Linux: the child is started with clone(CLONE_VM | CLONE_VFORK), everything but its handles is marked
/// close-on-exec with close_range (or closed by a /proc/self/fd walk) before execve, and its exit, noticed on
/// SIGCHLD, is collected by its pid alone, so <see cref="Process"/> children of the same process and ours never
/// take each other's exit status; it is reaped only under the lock <see cref="Kill"/> holds, so a kill never
/// reaches a recycled pid, pidfd or not. Windows: no handle of this process is ever made inheritable, so another thread's
/// Process.Start cannot pick one up: the child's handles are duplicated into a helper process (a suspended
/// cmd.exe, started once, ended with this process by a job object), and the child is created with that helper
/// as its parent (PROC_THREAD_ATTRIBUTE_PARENT_PROCESS) and a handle list of the duplicates. So the child's
/// parent process id is the helper's, and a handle passed by value has another value in the child: an
/// argument that is exactly a passed handle's value, in decimal (as
/// <see cref="System.IO.Pipes.AnonymousPipeServerStream.GetClientHandleAsString"/> writes it) or 0x hex, is
/// rewritten to the child's value. The environment block is sorted as CreateProcessW requires.
/// </remarks>
public sealed class ChildProcess : IDisposable
{
    private Interop.ProcessInfo _process;
    private readonly object _lock = new();
    private readonly TaskCompletionSource<int> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;
    private StreamWriter? _standardInput;
    private StreamReader? _standardOutput;
    private StreamReader? _standardError;

    private ChildProcess(Interop.ProcessInfo process)
    {
        _process = process;
        Id = checked((int)process.Pid);
    }

    /// <summary>The child's process id.</summary>
    public int Id { get; }

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
    public bool HasExited => _exit.Task.IsCompleted;

    /// <summary>
    /// The child's exit code. On POSIX a child killed by a signal reports 128 + the signal number, as
    /// <see cref="Process.ExitCode"/> does.
    /// </summary>
    /// <exception cref="InvalidOperationException">The child has not exited yet.</exception>
    public int ExitCode => _exit.Task.IsCompleted
        ? _exit.Task.GetAwaiter().GetResult()
        : throw new InvalidOperationException("Process must exit before requested information can be determined.");

    /// <summary>
    /// Starts the program <paramref name="startInfo"/> describes, giving it its standard streams (redirected to
    /// pipes where asked, else this process's own) and <paramref name="inheritedHandles"/> under their own
    /// numbers (values), and nothing else.
    /// </summary>
    /// <param name="startInfo">FileName (looked up on PATH as Process.Start does), ArgumentList or Arguments,
    /// WorkingDirectory, Environment, the Redirect* properties and their encodings, and CreateNoWindow are
    /// honoured. Properties it cannot honour (UseShellExecute, Verb, UserName, Domain, Password,
    /// PasswordInClearText, LoadUserProfile, ErrorDialog, WindowStyle) throw <see cref="NotSupportedException"/>
    /// when set.</param>
    /// <param name="inheritedHandles">Handles the child receives; they need not be (and are not made)
    /// inheritable in this process. Files, pipes and sockets alike. Windows: tell the child a handle's value
    /// as a whole argument (decimal or 0x hex); it is rewritten to the value the child gets.</param>
    /// <exception cref="Win32Exception">The program could not be started (not found, not executable, bad
    /// working directory), as Process.Start reports it.</exception>
    public static ChildProcess Start(ProcessStartInfo startInfo, IReadOnlyList<SafeHandle>? inheritedHandles = null)
    {
        var mapped = new List<(SafeHandle Handle, int Target)>();
        if (inheritedHandles != null)
        {
            foreach (SafeHandle handle in inheritedHandles)
                mapped.Add((handle ?? throw new ArgumentException("A handle in the list is null.", nameof(inheritedHandles)), Interop.SPAWN_SAME_NUMBER));
        }
        return StartCore(startInfo, mapped);
    }

    /// <summary>
    /// Starts the program with each handle of <paramref name="handlesByNumber"/> under the descriptor number
    /// it is the key of (3 and up for extra descriptors, as systemd socket activation expects; 0, 1 or 2 to
    /// replace a standard stream). Windows: 0, 1 and 2 set the child's standard handles; a handle cannot be
    /// given a chosen value there, so any other key must equal the handle's own value, and the handle is passed
    /// by value as with the list overload (an argument naming the value is rewritten to the child's).
    /// </summary>
    /// <exception cref="ArgumentException">A key is negative, or names a redirected standard stream.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcess Start(ProcessStartInfo startInfo, IReadOnlyDictionary<int, SafeHandle> handlesByNumber)
    {
        ArgumentNullException.ThrowIfNull(handlesByNumber);
        var mapped = new List<(SafeHandle Handle, int Target)>();
        foreach (KeyValuePair<int, SafeHandle> pair in handlesByNumber)
        {
            if (pair.Key < 0)
                throw new ArgumentException($"Descriptor number {pair.Key} is negative.", nameof(handlesByNumber));
            mapped.Add((pair.Value ?? throw new ArgumentException($"The handle for {pair.Key} is null.", nameof(handlesByNumber)), pair.Key));
        }
        return StartCore(startInfo, mapped);
    }

    private static void ThrowIfUnsupported(ProcessStartInfo startInfo)
    {
        static NotSupportedException Unsupported(string property) =>
            new($"ProcessStartInfo.{property} is not supported by ChildProcess.Start.");

        if (startInfo.UseShellExecute)
            throw Unsupported(nameof(ProcessStartInfo.UseShellExecute));
        if (!string.IsNullOrEmpty(startInfo.Verb))
            throw Unsupported(nameof(ProcessStartInfo.Verb));
        if (!string.IsNullOrEmpty(startInfo.UserName))
            throw Unsupported(nameof(ProcessStartInfo.UserName));
        if (startInfo.ErrorDialog)
            throw Unsupported(nameof(ProcessStartInfo.ErrorDialog));
        if (startInfo.WindowStyle != ProcessWindowStyle.Normal)
            throw Unsupported(nameof(ProcessStartInfo.WindowStyle));
        if (OperatingSystem.IsWindows())
        {
            if (!string.IsNullOrEmpty(startInfo.Domain))
                throw Unsupported("Domain");
            if (startInfo.Password != null)
                throw Unsupported("Password");
            if (!string.IsNullOrEmpty(startInfo.PasswordInClearText))
                throw Unsupported("PasswordInClearText");
            if (startInfo.LoadUserProfile)
                throw Unsupported("LoadUserProfile");
        }
    }

    /// <summary>
    /// The strings reach C as NUL-terminated UTF-8, where a NUL would cut them short ("/bin/true\0junk" would run
    /// /bin/true): refused, as the file APIs refuse a path with a NUL. (Process.Start passes them on cut.)
    /// </summary>
    private static void ThrowIfNulCharacter(ProcessStartInfo startInfo)
    {
        static bool HasNul(string? s) => s != null && s.Contains('\0');
        if (HasNul(startInfo.FileName) || HasNul(startInfo.Arguments) || HasNul(startInfo.WorkingDirectory)
            || startInfo.ArgumentList.Any(HasNul)
            || startInfo.Environment.Any(pair => HasNul(pair.Key) || HasNul(pair.Value)))
        {
            throw new ArgumentException("A file name, argument, working directory or environment variable contains a null character.", nameof(startInfo));
        }
    }

    private static unsafe ChildProcess StartCore(ProcessStartInfo startInfo, List<(SafeHandle Handle, int Target)> mapped)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        if (string.IsNullOrEmpty(startInfo.FileName))
            throw new InvalidOperationException("Cannot start process because a file name has not been provided.");
        if (startInfo.ArgumentList.Count > 0 && !string.IsNullOrEmpty(startInfo.Arguments))
            throw new InvalidOperationException("The Arguments and ArgumentList properties cannot both be used.");
        ThrowIfUnsupported(startInfo);
        ThrowIfNulCharacter(startInfo);

        bool windows = OperatingSystem.IsWindows();
        string workingDirectory = string.IsNullOrEmpty(startInfo.WorkingDirectory) ? Directory.GetCurrentDirectory() : startInfo.WorkingDirectory;
        int flags = windows ? 0 : Interop.SPAWN_DEFAULT_SIGPIPE;
        flags |= Interop.SPAWN_INHERIT_STDIO;
        if (startInfo.CreateNoWindow)
            flags |= Interop.SPAWN_NO_WINDOW;

        // What the child runs and sees as argv.
        string? path;
        var argv = new List<string>();
        if (windows)
        {
            path = null; // CreateProcessW searches for argv[0] as Process.Start does
            argv.Add(startInfo.FileName);
            if (startInfo.ArgumentList.Count > 0)
            {
                argv.AddRange(startInfo.ArgumentList);
            }
            else if (!string.IsNullOrEmpty(startInfo.Arguments))
            {
                argv.Add(startInfo.Arguments);
                flags |= Interop.SPAWN_RAW_ARGUMENTS;
            }
        }
        else
        {
            path = ResolvePath(startInfo.FileName)
                ?? throw Errors.ForStart(Errors.FileNotFoundCode, startInfo.FileName, workingDirectory);
            if (Directory.Exists(path))
                throw Errors.ForDirectoryAsProgram();
            argv.Add(path);
            if (startInfo.ArgumentList.Count > 0)
                argv.AddRange(startInfo.ArgumentList);
            else if (!string.IsNullOrEmpty(startInfo.Arguments))
                ParseArguments(startInfo.Arguments, argv);
        }

        // The redirected streams: pipes whose ends are both non-inheritable; the child's end is mapped.
        var ours = new List<SafeFileHandle>();       // our ends, handed to the streams
        var theirs = new List<SafeFileHandle>();     // the child's ends, closed once it has started
        SafeFileHandle? stdinWrite = null, stdoutRead = null, stderrRead = null;
        var refs = new List<SafeHandle>();
        byte* strings = null;
        ChildProcess? child = null;
        try
        {
            var mappings = new List<Interop.FdMapping>();
            void Redirect(int target, bool childReads, out SafeFileHandle parentEnd)
            {
                NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
                parentEnd = childReads ? write : read;
                SafeFileHandle childEnd = childReads ? read : write;
                ours.Add(parentEnd);
                theirs.Add(childEnd);
                mappings.Add(new Interop.FdMapping { Source = childEnd.DangerousGetHandle(), Target = target });
            }
            if (startInfo.RedirectStandardInput)
                Redirect(0, childReads: true, out stdinWrite);
            if (startInfo.RedirectStandardOutput)
                Redirect(1, childReads: false, out stdoutRead);
            if (startInfo.RedirectStandardError)
                Redirect(2, childReads: false, out stderrRead);

            var targets = new HashSet<int>();
            foreach (Interop.FdMapping m in mappings)
                targets.Add(m.Target);
            foreach ((SafeHandle handle, int target) in mapped)
            {
                if (handle.IsClosed)
                    throw new ObjectDisposedException(handle.GetType().FullName, "Cannot access a closed handle.");
                if (handle.IsInvalid)
                    throw new ArgumentException("The handle is invalid.", nameof(mapped));
                bool added = false;
                handle.DangerousAddRef(ref added);
                refs.Add(handle);
                nint value = handle.DangerousGetHandle();
                int effective = target == Interop.SPAWN_SAME_NUMBER && !windows ? checked((int)value) : target;
                if (effective != Interop.SPAWN_SAME_NUMBER && !targets.Add(effective))
                    throw new ArgumentException($"Two handles are given the number {effective} in the child (a redirected standard stream counts).", "inheritedHandles");
                mappings.Add(new Interop.FdMapping { Source = value, Target = target });
            }

            strings = MarshalStrings(argv, startInfo.Environment, path,
                string.IsNullOrEmpty(startInfo.WorkingDirectory) ? null : startInfo.WorkingDirectory,
                out byte** argvNative, out byte** envNative, out byte* pathNative, out byte* cwdNative);

            Interop.FdMapping[] mappingArray = mappings.ToArray();
            Interop.ProcessInfo info;
            int error;
            fixed (Interop.FdMapping* m = mappingArray)
                error = Interop.Spawn(pathNative, argvNative, envNative, cwdNative, m, mappingArray.Length, flags, &info);
            if (error != 0)
                throw Errors.ForStart(error, startInfo.FileName, workingDirectory);

            child = new ChildProcess(info);
            if (stdinWrite != null)
            {
                child._standardInput = new StreamWriter(new FileStream(stdinWrite, FileAccess.Write, 0, false),
                    startInfo.StandardInputEncoding ?? new UTF8Encoding(false), 4096) { AutoFlush = true };
            }
            if (stdoutRead != null)
            {
                child._standardOutput = new StreamReader(new FileStream(stdoutRead, FileAccess.Read, 0, false),
                    startInfo.StandardOutputEncoding ?? new UTF8Encoding(false), true, 4096);
            }
            if (stderrRead != null)
            {
                child._standardError = new StreamReader(new FileStream(stderrRead, FileAccess.Read, 0, false),
                    startInfo.StandardErrorEncoding ?? new UTF8Encoding(false), true, 4096);
            }
            child.WatchForExit();
            return child;
        }
        catch when (child == null)
        {
            foreach (SafeFileHandle h in ours)
                h.Dispose();
            throw;
        }
        finally
        {
            foreach (SafeFileHandle h in theirs)
                h.Dispose(); // the child holds its copies; ours would keep the pipes from reaching EOF
            foreach (SafeHandle h in refs)
                h.DangerousRelease();
            NativeMemory.Free(strings);
        }
    }

    /// <summary>
    /// argv, envp ("name=value" for each variable with a value), path and cwd as NUL-terminated UTF-8 and argv and envp
    /// as NULL-terminated arrays, all in one native block (freed with <see cref="NativeMemory.Free"/>): one allocation
    /// rather than one per string, and no managed "name=value" strings. The strings hold no NUL (checked before).
    /// </summary>
    private static unsafe byte* MarshalStrings(List<string> argv, IDictionary<string, string?> environment, string? path,
        string? cwd, out byte** argvNative, out byte** envNative, out byte* pathNative, out byte* cwdNative)
    {
        int variables = 0;
        long bytes = 0;
        foreach (string arg in argv)
            bytes += Encoding.UTF8.GetByteCount(arg) + 1;
        foreach (KeyValuePair<string, string?> pair in environment)
        {
            if (pair.Value != null)
            {
                variables++;
                bytes += Encoding.UTF8.GetByteCount(pair.Key) + 1 + Encoding.UTF8.GetByteCount(pair.Value) + 1;
            }
        }
        bytes += path is null ? 0 : Encoding.UTF8.GetByteCount(path) + 1;
        bytes += cwd is null ? 0 : Encoding.UTF8.GetByteCount(cwd) + 1;
        long pointers = (long)(argv.Count + 1 + variables + 1) * sizeof(nint);

        byte* block = (byte*)NativeMemory.Alloc(checked((nuint)(pointers + bytes)));
        byte* next = block + pointers, end = block + pointers + bytes;
        argvNative = (byte**)block;
        envNative = argvNative + argv.Count + 1;
        for (int i = 0; i < argv.Count; i++)
            argvNative[i] = Put(argv[i], 0, ref next, end);
        argvNative[argv.Count] = null;
        int v = 0;
        foreach (KeyValuePair<string, string?> pair in environment)
        {
            if (pair.Value != null)
            {
                envNative[v++] = Put(pair.Key, (byte)'=', ref next, end);
                Put(pair.Value, 0, ref next, end);
            }
        }
        envNative[v] = null;
        pathNative = path is null ? null : Put(path, 0, ref next, end);
        cwdNative = cwd is null ? null : Put(cwd, 0, ref next, end);
        return block;

        // Writes s and the terminator; returns where s starts.
        static byte* Put(string s, byte terminator, ref byte* next, byte* end)
        {
            byte* start = next;
            next += Encoding.UTF8.GetBytes(s, new Span<byte>(next, checked((int)(end - next))));
            *next++ = terminator;
            return start;
        }
    }

    // Exits are noticed without a thread per child (starting one cost more than the spawn on a busy machine):
    // on Unix a SIGCHLD handler, registered beside the runtime's own for Process, polls each live child by its
    // pid alone (never waitpid(-1), so neither side takes the other's children); on Windows the thread pool
    // waits on the process handle.
    private static readonly Dictionary<int, ChildProcess> s_live = new();
    private static PosixSignalRegistration? s_childSignal;
    private RegisteredWaitHandle? _registeredWait;
    private int _handleWaiters; // threads blocked on the process handle: it is closed only when none is

    private void WatchForExit()
    {
        if (OperatingSystem.IsWindows())
        {
            _registeredWait = ThreadPool.UnsafeRegisterWaitForSingleObject(new ProcessWaitHandle(_process.Handle),
                static (state, _) => ((ChildProcess)state!).Poll(), this, Timeout.Infinite, executeOnlyOnce: true);
            return;
        }
        if (s_sigchldIgnored.Value)
        {
            // No SIGCHLD will come: the runtime installs no handler for an ignored signal (and the kernel collects each
            // child itself; its status then comes from the pidfd, see ni_wait). A thread blocks on this exit instead.
            new Thread(static state => ((ChildProcess)state!).WaitThenPoll()) { IsBackground = true, Name = "ChildProcess exit" }
                .UnsafeStart(this);
            return;
        }
        lock (s_live)
        {
            s_childSignal ??= PosixSignalRegistration.Create(PosixSignal.SIGCHLD, static _ => PollAll());
            s_live[Id] = this;
        }
        Poll(); // a child that exited before it was listed sent its SIGCHLD already
    }

    /// <summary>Whether this process ignores SIGCHLD (inherited through exec: a parent set it). Linux: /proc/self/status.</summary>
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

    private unsafe void WaitThenPoll()
    {
        if (WaitOnHandle(Timeout.Infinite) == null)
        {
            Interop.ProcessInfo info = _process;
            info.Handle = Interop.InvalidHandle; // waitid(WNOWAIT): returns at the exit
            Interop.WaitForExit(&info, Timeout.Infinite, out _);
        }
        Poll();
    }

    private static void PollAll()
    {
        ChildProcess[] live;
        lock (s_live)
            live = [.. s_live.Values];
        foreach (ChildProcess child in live)
            child.Poll();
    }

    /// <summary>Records the exit if the child has exited; reaps it on Unix.</summary>
    private unsafe void Poll()
    {
        lock (_lock)
        {
            if (_exit.Task.IsCompleted)
                return;
            Interop.ProcessInfo info = _process;
            int error = Interop.Wait(&info, 0, out int exited, out int code);
            if (error == 0 && exited == 0)
                return;
            if (error != 0)
                _exit.TrySetException(Errors.ForProcess(error));
            else
                _exit.TrySetResult(code);
            if (_disposed && _handleWaiters == 0)
                CloseHandle();
        }
        if (_registeredWait != null)
            _registeredWait.Unregister(null);
        else
        {
            lock (s_live)
                s_live.Remove(Id);
        }
    }

    /// <summary>The process handle, for the thread pool to wait on; owned by the <see cref="ChildProcess"/>.</summary>
    private sealed class ProcessWaitHandle : WaitHandle
    {
        public ProcessWaitHandle(nint handle) => SafeWaitHandle = new SafeWaitHandle(handle, ownsHandle: false);
    }

    private unsafe void CloseHandle()
    {
        fixed (Interop.ProcessInfo* p = &_process)
            Interop.ProcessClose(p);
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
        lock (_lock)
        {
            if (_process.Handle == Interop.InvalidHandle)
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
            lock (_lock)
            {
                if (--_handleWaiters == 0 && _disposed && _exit.Task.IsCompleted)
                    CloseHandle();
            }
        }
    }

    /// <summary>Waits for the child to exit.</summary>
    public void WaitForExit() => WaitForExit(Timeout.Infinite);

    /// <summary>Waits at most <paramref name="milliseconds"/> (-1: no limit) for the child to exit.</summary>
    /// <returns>Whether it has exited.</returns>
    public bool WaitForExit(int milliseconds)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(milliseconds, -1);
        if (!_exit.Task.IsCompleted)
        {
            bool? exited = WaitOnHandle(milliseconds);
            if (exited == true)
                Poll(); // collects it now (unless the exit notification got there first)
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

    /// <summary>Waits at most <paramref name="timeout"/> for the child to exit.</summary>
    /// <returns>Whether it has exited.</returns>
    public bool WaitForExit(TimeSpan timeout) => WaitForExit(checked((int)timeout.TotalMilliseconds));

    /// <summary>Completes when the child exits; cancelling stops the wait, not the child.</summary>
    public Task WaitForExitAsync(CancellationToken cancellationToken = default) => _exit.Task.WaitAsync(cancellationToken);

    /// <summary>Terminates the child at once (SIGKILL; TerminateProcess on Windows). Does nothing once it has exited.</summary>
    public unsafe void Kill()
    {
        lock (_lock)
        {
            if (_exit.Task.IsCompleted)
                return;
            ObjectDisposedException.ThrowIf(_disposed, this);
            Interop.ProcessInfo info = _process;
            int error = Interop.Kill(&info, Interop.SIGKILL);
            if (error != 0)
            {
                Poll(); // a kill that raced with the exit (access denied on a process that has just ended)
                if (!_exit.Task.IsCompleted)
                    throw Errors.ForProcess(error);
            }
        }
    }

    /// <summary>Closes the redirected streams and releases the process handle. The child keeps running.</summary>
    public void Dispose()
    {
        _standardInput?.Dispose();
        _standardOutput?.Dispose();
        _standardError?.Dispose();
        lock (_lock)
        {
            if (_disposed)
                return;
            _disposed = true;
            if (_exit.Task.IsCompleted && _handleWaiters == 0)
                CloseHandle(); // else Poll, or the last waiter on the handle, closes it once the child has exited
        }
    }

    private static string? ResolvePath(string fileName)
    {
        // As Process.Start on Unix: a rooted path as is; a path with a directory relative to the current
        // directory; a bare name in this program's directory, the current directory, then PATH.
        if (Path.IsPathRooted(fileName))
            return fileName;
        if (fileName.Contains('/'))
            return Path.GetFullPath(fileName);
        string? exeDirectory = Path.GetDirectoryName(Environment.ProcessPath);
        if (!string.IsNullOrEmpty(exeDirectory))
        {
            string candidate = Path.Combine(exeDirectory, fileName);
            if (File.Exists(candidate))
                return candidate;
        }
        string inCurrent = Path.Combine(Directory.GetCurrentDirectory(), fileName);
        if (File.Exists(inCurrent))
            return inCurrent;
        string? pathVariable = Environment.GetEnvironmentVariable("PATH");
        if (pathVariable != null)
        {
            foreach (string directory in pathVariable.Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = Path.Combine(directory, fileName);
                if (File.Exists(candidate) && IsExecutable(candidate))
                    return candidate;
            }
        }
        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
            return true;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }

    /// <summary>Splits <see cref="ProcessStartInfo.Arguments"/> the way Process.Start does on Unix (Windows command-line rules).</summary>
    internal static void ParseArguments(string arguments, List<string> results)
    {
        int i = 0;
        while (true)
        {
            while (i < arguments.Length && (arguments[i] == ' ' || arguments[i] == '\t'))
                i++;
            if (i == arguments.Length)
                break;
            var current = new StringBuilder();
            bool inQuotes = false;
            while (i < arguments.Length)
            {
                int backslashes = 0;
                while (i < arguments.Length && arguments[i] == '\\')
                {
                    i++;
                    backslashes++;
                }
                if (backslashes > 0)
                {
                    if (i >= arguments.Length || arguments[i] != '"')
                    {
                        current.Append('\\', backslashes);
                    }
                    else
                    {
                        current.Append('\\', backslashes / 2);
                        if (backslashes % 2 != 0)
                        {
                            current.Append('"');
                            i++;
                        }
                    }
                    continue;
                }
                char c = arguments[i];
                if (c == '"')
                {
                    if (inQuotes && i < arguments.Length - 1 && arguments[i + 1] == '"')
                    {
                        current.Append('"');
                        i++;
                    }
                    else
                    {
                        inQuotes = !inQuotes;
                    }
                    i++;
                    continue;
                }
                if ((c == ' ' || c == '\t') && !inQuotes)
                    break;
                current.Append(c);
                i++;
            }
            results.Add(current.ToString());
        }
    }
}
