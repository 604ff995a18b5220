using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
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
        return StartCore(startInfo, mapped, nameof(inheritedHandles));
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
        return StartCore(startInfo, mapped, nameof(handlesByNumber));
    }

    /// <summary>
    /// The start itself: the arguments checked and translated (<see cref="SpawnArguments"/>), the redirection pipes and
    /// the handles listed for the child (<see cref="HandleMappings"/>), ni_spawn, then the new child watched.
    /// </summary>
    private static ChildProcess StartCore(ProcessStartInfo startInfo, List<(SafeHandle Handle, int Target)> inherited, string paramName)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        SpawnArguments arguments = SpawnArguments.From(startInfo);
        using var mappings = new HandleMappings();
        using RedirectedStreams redirected = RedirectedStreams.Create(startInfo, mappings);
        foreach ((SafeHandle handle, int target) in inherited)
            mappings.Add(handle, target, paramName);

        var waitState = new ChildWaitState(Spawn(arguments, mappings.AsSpan()));
        waitState.StartWatching();
        try
        {
            (StreamWriter? input, StreamReader? output, StreamReader? error) = redirected.TakeStreams(startInfo);
            return new ChildProcess(waitState, input, output, error);
        }
        catch
        {
            waitState.Release();
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
        if (error != 0)
            throw Errors.ForStart(error, arguments.FileName, arguments.WorkingDirectoryForMessages);
        return info;
    }
}
