using System;
using System.Collections.Generic;

namespace NoInherit.Native;

public static partial class SocketActivation
{
    /// <summary>The sockets of <see cref="ChildProcessOptions.ListenSockets"/>, checked; null when there are none.</summary>
    /// <exception cref="ArgumentNullException">An entry is null.</exception>
    internal static IReadOnlyList<ListenSocket>? CheckedListenSockets(IList<ListenSocket>? sockets)
    {
        if (sockets is null || sockets.Count == 0)
            return null;
        var result = new ListenSocket[sockets.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = sockets[i] ?? throw new ArgumentNullException($"ListenSockets[{i}]");
        return result;
    }

    /// <summary>
    /// The child's environment for <paramref name="sockets"/>: a copy of <paramref name="environment"/> (the caller's is
    /// not changed) without any LISTEN_* variable of its own, with LISTEN_FDS and LISTEN_FDNAMES (Unix; ni_spawn adds
    /// LISTEN_PID in the child) or the pipe's variable (Windows, <paramref name="pipeValue"/>).
    /// </summary>
    internal static IDictionary<string, string?> ChildEnvironment(IDictionary<string, string?> environment,
        IReadOnlyList<ListenSocket> sockets, string? pipeValue = null)
    {
        var result = new Dictionary<string, string?>(environment, OperatingSystem.IsWindows() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
        foreach (string name in new[] { PidVariable, CountVariable, NamesVariable, PipeVariable })
            result.Remove(name);
        if (pipeValue != null)
        {
            result[PipeVariable] = pipeValue;
            return result;
        }
        var names = new string[sockets.Count];
        for (int i = 0; i < names.Length; i++)
            names[i] = sockets[i].Name;
        result[CountVariable] = sockets.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        result[NamesVariable] = string.Join(':', names);
        return result;
    }
}
