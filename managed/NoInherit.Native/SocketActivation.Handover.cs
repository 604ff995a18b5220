using System;
using System.Collections.Generic;

namespace NoInherit.Native;

public static partial class SocketActivation
{
    /// <summary>
    /// The start of a child that gets <see cref="ChildProcessOptions.ListenSockets"/>, around ni_spawn: its environment
    /// before (LISTEN_FDS and LISTEN_FDNAMES on Unix, where the sockets themselves are mappings; the pipe's name on
    /// Windows), and on Windows the sockets sent once the child exists (<see cref="Sender"/>). Disposing it after the
    /// start is harmless; disposing it instead of starting releases the pipe.
    /// </summary>
    internal sealed class Handover : IDisposable
    {
        private Sender? _sender;

        private Handover(Sender? sender) => _sender = sender;

        /// <summary>Sets the child's environment in <paramref name="arguments"/>; null when no socket is passed.</summary>
        internal static Handover? Prepare(IReadOnlyList<ListenSocket>? sockets, SpawnArguments arguments)
        {
            if (sockets is null)
                return null;
            if (!OperatingSystem.IsWindows())
            {
                arguments.Environment = ChildEnvironment(arguments.Environment, sockets);
                return new Handover(null);
            }
            var sender = new Sender(sockets);
            arguments.Environment = ChildEnvironment(arguments.Environment, sockets, sender.PipeName);
            return new Handover(sender);
        }

        /// <summary>Windows: sends the sockets to <paramref name="child"/> in the background (it waits for the child to ask).</summary>
        internal void Start(ChildProcess child)
        {
            if (_sender is null || !OperatingSystem.IsWindows())
                return;
            Sender sender = _sender;
            _sender = null;
            _ = sender.SendAsync(child);
        }

        public void Dispose() => _sender?.Dispose();
    }
}
