using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// The receiving side of socket activation: the sockets a parent passed with
/// <see cref="ChildProcessOptions.ListenSockets"/>, or systemd (or <c>systemd-socket-activate</c>) passed by its
/// convention, as <see cref="Socket"/> objects. The counterpart of sd_listen_fds_with_names(3).
/// </summary>
public static partial class SocketActivation
{
    /// <summary>The first descriptor of a passed socket (SD_LISTEN_FDS_START): 0 to 2 are the standard streams.</summary>
    internal const int FirstDescriptor = 3;

    internal const string PidVariable = "LISTEN_PID";
    internal const string CountVariable = "LISTEN_FDS";
    internal const string NamesVariable = "LISTEN_FDNAMES";

    private static readonly object s_lock = new();

    /// <summary>
    /// Takes the sockets passed to this process, once: a second call (from any thread) returns an empty list.
    /// </summary>
    /// <remarks>
    /// On Unix it reads <c>LISTEN_PID</c>, <c>LISTEN_FDS</c> and <c>LISTEN_FDNAMES</c>. The sockets are ours only if
    /// <c>LISTEN_PID</c> is this process's pid (a child that inherited the variables gets none). Each descriptor from 3
    /// on is made close-on-exec at once, so that no child of ours inherits it, and becomes a <see cref="Socket"/> whose
    /// address family, type and protocol are read from the descriptor itself (SO_DOMAIN, SO_TYPE, SO_PROTOCOL), with
    /// its listening state. The three variables are then removed from this process's environment, the runtime's copy
    /// (<see cref="Environment"/>) and the native one (getenv, and children started by native code), whether or not
    /// the sockets were ours, as sd_listen_fds(1) does. A socket passed without a name is called
    /// <see cref="ListenSocket.DefaultName"/>. On Windows the sockets come from the parent's pipe
    /// (see <see cref="ChildProcessOptions.ListenSockets"/>).
    /// </remarks>
    /// <returns>The sockets, in the order passed; empty if none were passed to this process.</returns>
    /// <exception cref="InvalidOperationException">The variables are for this process but malformed (a count that is
    /// not a number, more or fewer names than sockets), or a descriptor is not a socket. The descriptors are left
    /// open, close-on-exec, and the variables removed.</exception>
    public static IReadOnlyList<ListenSocket> TakeListeners()
    {
        lock (s_lock)
        {
            HotRestart.TakeReadyPipe();
            return OperatingSystem.IsWindows() ? TakeFromPipe() : TakeFromDescriptors();
        }
    }

    private static IReadOnlyList<ListenSocket> TakeFromDescriptors()
    {
        string? pid = Environment.GetEnvironmentVariable(PidVariable);
        string? count = Environment.GetEnvironmentVariable(CountVariable);
        string? names = Environment.GetEnvironmentVariable(NamesVariable);
        RemoveVariables(PidVariable, CountVariable, NamesVariable);
        if (pid is null || count is null
            || !int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int listenPid) || listenPid != Environment.ProcessId)
        {
            return Array.Empty<ListenSocket>(); // not passed, or passed to the process we inherited them from
        }
        if (!int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n > 0xFFFF)
            throw new InvalidOperationException($"{CountVariable} is not a number of descriptors: '{count}'.");
        for (int i = 0; i < n; i++)
            MakeNotInheritable(FirstDescriptor + i);
        string[] socketNames = NamesOf(names, n);
        for (int i = 0; i < n; i++)
        {
            if (KindOf(FirstDescriptor + i) != HandleKind.Socket)
                throw new InvalidOperationException($"Descriptor {FirstDescriptor + i} ('{socketNames[i]}'), passed in {CountVariable}, is not a socket.");
        }
        var sockets = new ListenSocket[n];
        for (int i = 0; i < n; i++)
            sockets[i] = new ListenSocket(new Socket(new SafeSocketHandle(FirstDescriptor + i, ownsHandle: true)), socketNames[i]);
        return sockets;
    }

    /// <summary>The names in <c>LISTEN_FDNAMES</c>, or <see cref="ListenSocket.DefaultName"/> for each when it is absent.</summary>
    private static string[] NamesOf(string? names, int count)
    {
        string[] result;
        if (string.IsNullOrEmpty(names))
        {
            result = new string[count];
            Array.Fill(result, ListenSocket.DefaultName);
            return result;
        }
        result = names.Split(':');
        if (result.Length != count)
            throw new InvalidOperationException($"{NamesVariable} has {result.Length} names for {count} descriptors: '{names}'.");
        return result;
    }

    private static void MakeNotInheritable(int descriptor)
    {
        using var handle = new SafeFileHandle(descriptor, ownsHandle: false);
        int error = Interop.SetInheritable(handle, 0);
        if (error != 0)
            throw new InvalidOperationException($"Descriptor {descriptor}, passed in {CountVariable}, is not open.", Errors.ForHandle(error));
    }

    private static unsafe HandleKind KindOf(int descriptor)
    {
        byte* buffer = stackalloc byte[256];
        return Interop.Describe(descriptor, buffer, 256, out HandleKind kind) == 0 ? kind : HandleKind.Other;
    }

    /// <summary>Removes variables from the runtime's environment and the native one (on Unix .NET keeps a copy of its own).</summary>
    internal static void RemoveVariables(params string[] names)
    {
        foreach (string name in names)
        {
            Environment.SetEnvironmentVariable(name, null);
            int error = Interop.UnsetEnvironmentVariable(name);
            if (error != 0)
                throw new InvalidOperationException($"The environment variable {name} could not be removed.", Errors.ForHandle(error));
        }
    }
}
