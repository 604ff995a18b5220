using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// What a start asks for beyond <see cref="SpawnArguments"/>: the standard handles, the handles passed, and the process
/// flags, from the <see cref="ChildProcessOptions"/> and, on runtimes that have them, the same properties of the
/// <see cref="ProcessStartInfo"/> (<see cref="StartInfoProperties"/>), merged and checked before anything is created.
/// </summary>
internal sealed class StartRequest
{
    private readonly (SafeHandle? Handle, string ParamName)[] _standard = new (SafeHandle?, string)[3];
    private List<(SafeHandle Handle, int Target, string ParamName)>? _passed; // created for the first (most starts pass none)
    private bool _nullForUnset;

    private StartRequest()
    {
    }

    /// <summary>The process flags (<see cref="Interop.SpawnFlags"/>) the options ask for.</summary>
    internal Interop.SpawnFlags Flags { get; private set; }

    /// <summary>
    /// Merges <paramref name="options"/> (may be null) with <paramref name="startInfo"/>'s own properties of the same names.
    /// </summary>
    /// <param name="startInfo">The start info (already checked by <see cref="SpawnArguments.From"/>).</param>
    /// <param name="options">The options, or null.</param>
    /// <param name="nullForUnset">Give the null device to every standard stream neither redirected nor given a handle
    /// (StartAndForget, Run's silent mode); StartDetached asks for it too.</param>
    /// <exception cref="InvalidOperationException">A standard handle given together with its Redirect* property, or by
    /// both the start info and the options.</exception>
    /// <exception cref="ArgumentException">A null handle in a list, or a negative number.</exception>
    /// <exception cref="InvalidOperationException">StartDetached with KillOnParentExit.</exception>
    internal static StartRequest From(ProcessStartInfo startInfo, ChildProcessOptions? options, bool nullForUnset = false)
    {
        var request = new StartRequest();
        request.SetStandard(0, startInfo.RedirectStandardInput, options?.StandardInputHandle, StartInfoProperties.StandardInputHandle(startInfo), "StandardInputHandle");
        request.SetStandard(1, startInfo.RedirectStandardOutput, options?.StandardOutputHandle, StartInfoProperties.StandardOutputHandle(startInfo), "StandardOutputHandle");
        request.SetStandard(2, startInfo.RedirectStandardError, options?.StandardErrorHandle, StartInfoProperties.StandardErrorHandle(startInfo), "StandardErrorHandle");
        request.AddList(options?.InheritedHandles, nameof(options));
        request.AddList(StartInfoProperties.InheritedHandles(startInfo), nameof(startInfo));
        if (options?.InheritedHandlesByNumber is IDictionary<int, SafeHandle> byNumber)
        {
            foreach (KeyValuePair<int, SafeHandle> pair in byNumber)
            {
                if (pair.Key < 0)
                    throw new ArgumentException($"Descriptor number {pair.Key} is negative.", nameof(options));
                request.Pass(pair.Value ?? throw new ArgumentNullException($"InheritedHandlesByNumber[{pair.Key}]"), pair.Key, nameof(options));
            }
        }
        bool detached = options?.StartDetached == true || StartInfoProperties.StartDetached(startInfo);
        request._nullForUnset = nullForUnset || detached;
        request.Flags = ProcessFlags(
            killOnParentExit: options?.KillOnParentExit == true || StartInfoProperties.KillOnParentExit(startInfo),
            detached,
            suspended: options?.StartSuspended == true || StartInfoProperties.StartSuspended(startInfo),
            newProcessGroup: options?.CreateNewProcessGroup == true || StartInfoProperties.CreateNewProcessGroup(startInfo));
        request.AddListenSockets(SocketActivation.CheckedListenSockets(options?.ListenSockets));
        return request;
    }

    /// <summary>The sockets passed by socket activation (<see cref="ChildProcessOptions.ListenSockets"/>), or null.</summary>
    internal IReadOnlyList<ListenSocket>? ListenSockets { get; private set; }

    /// <summary>Unix: the sockets under 3, 4, ... and LISTEN_PID set in the child. (Windows: <see cref="SocketActivation.Handover"/>.)</summary>
    private void AddListenSockets(IReadOnlyList<ListenSocket>? sockets)
    {
        ListenSockets = sockets;
        if (sockets is null || OperatingSystem.IsWindows())
            return;
        for (int i = 0; i < sockets.Count; i++)
            Pass(sockets[i].Socket.SafeHandle, SocketActivation.FirstDescriptor + i, "options");
        Flags |= Interop.SpawnFlags.SPAWN_LISTEN_PID;
    }

    /// <summary>Whether a standard stream will be the null device, which the caller then opens for <see cref="AddTo"/>.</summary>
    internal bool NeedsNullDevice(ProcessStartInfo startInfo) =>
        _nullForUnset && ((_standard[0].Handle is null && !startInfo.RedirectStandardInput)
                          || (_standard[1].Handle is null && !startInfo.RedirectStandardOutput)
                          || (_standard[2].Handle is null && !startInfo.RedirectStandardError));

    /// <summary>Lists the handles for the child: the standard ones (the null device where asked), then those passed.</summary>
    internal void AddTo(HandleMappings mappings, ProcessStartInfo startInfo, SafeFileHandle? nullDevice)
    {
        for (int target = 0; target < 3; target++)
        {
            (SafeHandle? given, string paramName) = _standard[target];
            bool redirected = target switch
            {
                0 => startInfo.RedirectStandardInput,
                1 => startInfo.RedirectStandardOutput,
                _ => startInfo.RedirectStandardError,
            };
            SafeHandle? handle = given ?? (redirected ? null : nullDevice);
            if (handle != null)
                mappings.Add(handle, target, paramName ?? nameof(startInfo));
        }
        if (_passed is null)
            return;
        foreach ((SafeHandle handle, int target, string paramName) in _passed)
            mappings.Add(handle, target, paramName);
    }

    private void Pass(SafeHandle handle, int target, string paramName) => (_passed ??= new()).Add((handle, target, paramName));

    private void SetStandard(int target, bool redirected, SafeHandle? fromOptions, SafeHandle? fromStartInfo, string name)
    {
        if (fromOptions != null && fromStartInfo != null)
            throw new InvalidOperationException($"{name} is set on both the ProcessStartInfo and the ChildProcessOptions: give it once.");
        SafeHandle? handle = fromOptions ?? fromStartInfo;
        if (handle != null && redirected)
        {
            throw new InvalidOperationException("The StandardInputHandle, StandardOutputHandle, and StandardErrorHandle properties cannot be used " +
                "together with the corresponding RedirectStandardInput, RedirectStandardOutput, and RedirectStandardError properties.");
        }
        _standard[target] = (handle, fromOptions != null ? "options" : "startInfo");
    }

    private void AddList(IList<SafeHandle>? handles, string paramName)
    {
        if (handles is null)
            return;
        for (int i = 0; i < handles.Count; i++)
            Pass(handles[i] ?? throw new ArgumentNullException($"InheritedHandles[{i}]"), Interop.SPAWN_SAME_NUMBER, paramName);
    }

    /// <summary>The ni_spawn flags for the process options; a system that cannot honour one says so (ENOTSUP) at the start.</summary>
    private static Interop.SpawnFlags ProcessFlags(bool killOnParentExit, bool detached, bool suspended, bool newProcessGroup)
    {
        if (detached && killOnParentExit)
        {
            throw new InvalidOperationException("StartDetached and KillOnParentExit cannot be combined: a detached child outlives this process, " +
                "one killed on its exit does not.");
        }
        Interop.SpawnFlags flags = default;
        if (killOnParentExit)
            flags |= Interop.SpawnFlags.SPAWN_KILL_ON_PARENT_EXIT;
        if (detached)
            flags |= Interop.SpawnFlags.SPAWN_DETACHED;
        if (suspended)
            flags |= Interop.SpawnFlags.SPAWN_SUSPENDED;
        if (newProcessGroup)
            flags |= Interop.SpawnFlags.SPAWN_NEW_PROCESS_GROUP;
        return flags;
    }

    /// <summary>The names of the process options in <paramref name="flags"/>, for a system that refused one of them.</summary>
    internal static string OptionNames(Interop.SpawnFlags flags)
    {
        var names = new List<string>();
        if ((flags & Interop.SpawnFlags.SPAWN_KILL_ON_PARENT_EXIT) != 0)
            names.Add(nameof(ChildProcessOptions.KillOnParentExit));
        if ((flags & Interop.SpawnFlags.SPAWN_DETACHED) != 0)
            names.Add(nameof(ChildProcessOptions.StartDetached));
        if ((flags & Interop.SpawnFlags.SPAWN_SUSPENDED) != 0)
            names.Add(nameof(ChildProcessOptions.StartSuspended));
        if ((flags & Interop.SpawnFlags.SPAWN_NEW_PROCESS_GROUP) != 0)
            names.Add(nameof(ChildProcessOptions.CreateNewProcessGroup));
        return string.Join(" or ", names);
    }

    /// <summary>The process options, of all flags.</summary>
    internal const Interop.SpawnFlags ProcessOptionFlags = Interop.SpawnFlags.SPAWN_KILL_ON_PARENT_EXIT | Interop.SpawnFlags.SPAWN_DETACHED
        | Interop.SpawnFlags.SPAWN_SUSPENDED | Interop.SpawnFlags.SPAWN_NEW_PROCESS_GROUP;
}
