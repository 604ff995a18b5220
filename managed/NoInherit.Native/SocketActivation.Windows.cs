using System;
using System.Collections.Generic;

namespace NoInherit.Native;

public static partial class SocketActivation
{
    /// <summary>Windows: the variable that names the pipe carrying the sockets' protocol information.</summary>
    internal const string PipeVariable = "NOINHERIT_LISTEN_PIPE";

    private static IReadOnlyList<ListenSocket> TakeFromPipe() =>
        throw new PlatformNotSupportedException("Socket activation is not supported on Windows yet.");
}
