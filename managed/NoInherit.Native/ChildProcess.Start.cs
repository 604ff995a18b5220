using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
    /// <summary>
    /// Starts the program <paramref name="startInfo"/> describes, giving it its standard streams (redirected to
    /// pipes where asked, else this process's own) and <paramref name="inheritedHandles"/> under their own
    /// numbers (values), and nothing else.
    /// </summary>
    /// <param name="startInfo">FileName (looked up as Process.Start looks it up, and passed as argv[0] as given),
    /// ArgumentList or Arguments, WorkingDirectory, Environment, the Redirect* properties and their encodings, and
    /// CreateNoWindow are honoured; on runtimes that have them, CreateNewProcessGroup (.NET 10, Windows) and .NET 11's
    /// InheritedHandles, KillOnParentExit, StartDetached, StartSuspended and Standard*Handle are honoured as the
    /// <see cref="ChildProcessOptions"/> properties of the same names are. Properties it cannot honour (UseShellExecute,
    /// Verb, UserName, Domain, Password, PasswordInClearText, LoadUserProfile, ErrorDialog, WindowStyle,
    /// UseCredentialsForNetworkingOnly, and any a later runtime adds) throw <see cref="NotSupportedException"/> naming
    /// them when set.</param>
    /// <param name="inheritedHandles">Handles the child receives; they need not be (and are not made)
    /// inheritable in this process. Files, pipes and sockets alike. Windows: tell the child a handle's value
    /// as a whole argument (decimal or 0x hex); it is rewritten to the value the child gets.</param>
    /// <exception cref="InvalidOperationException">No FileName, or both Arguments and ArgumentList, with Process.Start's messages.</exception>
    /// <exception cref="Win32Exception">The program could not be started (not found, not executable, bad
    /// working directory), as Process.Start reports it, naming the program it found.</exception>
    public static ChildProcess Start(ProcessStartInfo startInfo, IReadOnlyList<SafeHandle>? inheritedHandles = null)
    {
        List<(SafeHandle Handle, int Target)>? passed = null;
        if (inheritedHandles != null)
        {
            passed = new List<(SafeHandle Handle, int Target)>(inheritedHandles.Count);
            foreach (SafeHandle handle in inheritedHandles)
                passed.Add((handle ?? throw new ArgumentException("A handle in the list is null.", nameof(inheritedHandles)), Interop.SPAWN_SAME_NUMBER));
        }
        return StartCore(startInfo, null, passed, nameof(inheritedHandles));
    }

    /// <summary>Starts <paramref name="fileName"/> without arguments, as <see cref="Process.Start(string)"/> does (its standard
    /// streams are this process's own), giving it nothing else.</summary>
    /// <exception cref="InvalidOperationException">The file name is null or empty, with Process.Start's message.</exception>
    /// <exception cref="Win32Exception">The program could not be started, as Process.Start reports it.</exception>
    public static ChildProcess Start(string fileName) => Start(new ProcessStartInfo(fileName));

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> as one command line, split as
    /// <see cref="Process.Start(string, string)"/> splits it, giving it nothing else.</summary>
    /// <exception cref="InvalidOperationException">The file name is null or empty, with Process.Start's message.</exception>
    /// <exception cref="Win32Exception">The program could not be started, as Process.Start reports it.</exception>
    public static ChildProcess Start(string fileName, string arguments) => Start(new ProcessStartInfo(fileName, arguments));

    /// <summary>Starts <paramref name="fileName"/> with each of <paramref name="arguments"/> as one argument, as
    /// <see cref="Process.Start(string, IEnumerable{string})"/> does, giving it nothing else.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> or <paramref name="arguments"/> is null.</exception>
    /// <exception cref="Win32Exception">The program could not be started, as Process.Start reports it.</exception>
    public static ChildProcess Start(string fileName, IEnumerable<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        return Start(new ProcessStartInfo(fileName, arguments));
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
        var passed = new List<(SafeHandle Handle, int Target)>();
        foreach (KeyValuePair<int, SafeHandle> pair in handlesByNumber)
        {
            if (pair.Key < 0)
                throw new ArgumentException($"Descriptor number {pair.Key} is negative.", nameof(handlesByNumber));
            passed.Add((pair.Value ?? throw new ArgumentException($"The handle for {pair.Key} is null.", nameof(handlesByNumber)), pair.Key));
        }
        return StartCore(startInfo, null, passed, nameof(handlesByNumber));
    }

    /// <summary>
    /// Starts the program <paramref name="startInfo"/> describes with what <paramref name="options"/> adds: handles
    /// passed under their own numbers or chosen ones, any handle as a standard stream, and the process options of
    /// .NET 11 (<see cref="ChildProcessOptions.KillOnParentExit"/>, <see cref="ChildProcessOptions.StartDetached"/>,
    /// <see cref="ChildProcessOptions.StartSuspended"/>) and <see cref="ChildProcessOptions.CreateNewProcessGroup"/>.
    /// The child gets these and its standard streams, and nothing else.
    /// </summary>
    /// <param name="startInfo">As for <see cref="Start(ProcessStartInfo, IReadOnlyList{SafeHandle})"/>.</param>
    /// <param name="options">What the child gets besides.</param>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> or <paramref name="options"/> is null, or a
    /// handle in one of its lists is.</exception>
    /// <exception cref="InvalidOperationException">A standard handle is given together with its Redirect* property, or
    /// by both the start info and the options; or the start info is incomplete, as for Process.Start.</exception>
    /// <exception cref="ArgumentException">A handle is invalid, two handles are given one number, or a number is negative.</exception>
    /// <exception cref="PlatformNotSupportedException">An option this system cannot honour, named.</exception>
    /// <exception cref="Win32Exception">The program could not be started, as Process.Start reports it.</exception>
    public static ChildProcess Start(ProcessStartInfo startInfo, ChildProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return StartCore(startInfo, options, null, nameof(options));
    }

    /// <summary>
    /// The start itself: the arguments checked and translated (<see cref="SpawnArguments"/>, <see cref="StartRequest"/>),
    /// the redirection pipes and the handles listed for the child (<see cref="HandleMappings"/>), ni_spawn, then the new
    /// child watched.
    /// </summary>
    /// <param name="startInfo">What to start.</param>
    /// <param name="options">What the child gets besides, or null.</param>
    /// <param name="passed">Handles of the older overloads, with their targets, or null.</param>
    /// <param name="paramName">The parameter those came in, for messages.</param>
    /// <param name="nullForUnset">Give the null device to the standard streams not redirected and not given a handle.</param>
    private static ChildProcess StartCore(ProcessStartInfo startInfo, ChildProcessOptions? options, List<(SafeHandle Handle, int Target)>? passed,
        string paramName, bool nullForUnset = false)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        SpawnArguments arguments = SpawnArguments.From(startInfo);
        StartRequest request = StartRequest.From(startInfo, options, nullForUnset);
        PseudoTerminalSize? terminalSize = TerminalRequest(startInfo, options);
        arguments.Flags |= request.Flags;
        using SocketActivation.Handover? handover = SocketActivation.Handover.Prepare(request.ListenSockets, arguments);
        using var mappings = new HandleMappings();
        using RedirectedStreams redirected = RedirectedStreams.Create(startInfo, mappings);
        OutputDrain? drain = OutputDrain.Create(options?.OutputDrainTimeout);
        using SafeFileHandle? nullDevice = request.NeedsNullDevice(startInfo) ? NoInheritFile.OpenNullHandle() : null;
        request.AddTo(mappings, startInfo, nullDevice);
        if (passed != null)
        {
            foreach ((SafeHandle handle, int target) in passed)
                mappings.Add(handle, target, paramName);
        }

        PseudoTerminal? terminal = OpenTerminal(terminalSize, mappings);
        ChildWaitState waitState;
        try
        {
            waitState = new ChildWaitState(Spawn(arguments, mappings.AsSpan()));
        }
        catch
        {
            terminal?.Dispose();
            throw;
        }
        waitState.StartWatching();
        try
        {
            var child = new ChildProcess(waitState, redirected.TakeStreams(startInfo, drain), arguments);
            AttachTerminal(child, terminal, waitState);
            handover?.Start(child);
            return child;
        }
        catch
        {
            waitState.Release();
            terminal?.Dispose();
            throw;
        }
    }

    private static unsafe Interop.ProcessInfo Spawn(SpawnArguments arguments, ReadOnlySpan<Interop.FdMapping> mappings)
    {
        using SpawnStrings strings = SpawnStrings.From(arguments);
        Interop.ProcessInfo info;
        int error;
        fixed (Interop.FdMapping* m = mappings)
            error = Interop.Spawn(strings.Path, strings.Argv, strings.Envp, strings.Cwd, m, mappings.Length, arguments.Flags, &info);
        if (error == 0)
            return info;
        Interop.SpawnFlags options = arguments.Flags & StartRequest.ProcessOptionFlags;
        if (options != 0 && Errors.Kind(error) == Interop.ErrorKind.ERR_OPNOTSUPP)
            throw Errors.ForUnsupportedOption(StartRequest.OptionNames(options));
        throw Errors.ForStart(error, arguments.ProgramForMessages, arguments.WorkingDirectoryForMessages);
    }
}
