using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipes;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

public static partial class SocketActivation
{
    /// <summary>Windows: the variable that names the pipe carrying the sockets' protocol information.</summary>
    internal const string PipeVariable = "NOINHERIT_LISTEN_PIPE";

    /// <summary>How long the child waits for the parent's pipe, and the parent for the child to connect to it.</summary>
    private static readonly TimeSpan s_pipeTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Windows: the sockets the parent sends through the pipe <c>NOINHERIT_LISTEN_PIPE</c> names, each opened from its
    /// WSAPROTOCOL_INFOW (new Socket(SocketInformation): WSASocketW with FROM_PROTOCOL_INFO, non-inheritable).
    /// </summary>
    private static IReadOnlyList<ListenSocket> TakeFromPipe()
    {
        string? name = Environment.GetEnvironmentVariable(PipeVariable);
        RemoveVariables(PipeVariable);
        if (string.IsNullOrEmpty(name) || !OperatingSystem.IsWindows())
            return Array.Empty<ListenSocket>();
        using var pipe = new NamedPipeClientStream(".", name, PipeDirection.In, PipeOptions.CurrentUserOnly);
        pipe.Connect(s_pipeTimeout);
        using var reader = new BinaryReader(pipe, Encoding.UTF8);
        int count = reader.ReadInt32();
        var sockets = new List<ListenSocket>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                string socketName = reader.ReadString();
                var information = new SocketInformation
                {
                    Options = (SocketInformationOptions)reader.ReadInt32(),
                    ProtocolInformation = reader.ReadBytes(reader.ReadInt32()),
                };
                sockets.Add(new ListenSocket(new Socket(information), socketName));
            }
        }
        catch
        {
            foreach (ListenSocket socket in sockets)
                socket.Socket.Dispose();
            throw;
        }
        return sockets;
    }

    /// <summary>
    /// Windows, the passing side: a pipe of this user's alone, under a name nobody can guess, that the child finds through
    /// <c>NOINHERIT_LISTEN_PIPE</c>. (A handle passed to a child gets another value there, and ni_spawn rewrites such a
    /// value in the command line only, so a pipe handle could not be named in the environment.) Once the child exists,
    /// <see cref="SendAsync"/> duplicates each socket for it (ni_socket_share) and sends the information.
    /// </summary>
    internal sealed class Sender : IDisposable
    {
        private readonly NamedPipeServerStream _pipe;
        private readonly IReadOnlyList<ListenSocket> _sockets;

        internal Sender(IReadOnlyList<ListenSocket> sockets)
        {
            _sockets = sockets;
            PipeName = $"NoInherit.Listen.{Guid.NewGuid():N}";
            _pipe = new NamedPipeServerStream(PipeName, PipeDirection.Out, 1, PipeTransmissionMode.Byte,
                PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
        }

        internal string PipeName { get; }

        /// <summary>Waits for the child to connect (until it exits, or <see cref="s_pipeTimeout"/>), then sends; disposes itself.</summary>
        internal async Task SendAsync(ChildProcess child)
        {
            using (this)
            using (var stop = new CancellationTokenSource(s_pipeTimeout))
            {
                Task exited = child.WaitForExitAsync(stop.Token);
                Task connected = _pipe.WaitForConnectionAsync(stop.Token);
                if (await Task.WhenAny(connected, exited).ConfigureAwait(false) != connected)
                    return; // it never asked for them
                await connected.ConfigureAwait(false);
                using var message = new MemoryStream();
                using (var writer = new BinaryWriter(message, Encoding.UTF8, leaveOpen: true))
                {
                    writer.Write(_sockets.Count);
                    foreach ((string name, Socket socket) in _sockets)
                    {
                        byte[] information = Share(socket, child.Id);
                        writer.Write(name);
                        writer.Write((int)(IsListening(socket) ? SocketInformationOptions.Listening : 0));
                        writer.Write(information.Length);
                        writer.Write(information);
                    }
                }
                await _pipe.WriteAsync(message.GetBuffer().AsMemory(0, (int)message.Length), stop.Token).ConfigureAwait(false);
                await _pipe.FlushAsync(stop.Token).ConfigureAwait(false);
                if (OperatingSystem.IsWindows())
                    _pipe.WaitForPipeDrain(); // the child has read it all before the pipe closes
            }
        }

        public void Dispose() => _pipe.Dispose();

        private static unsafe byte[] Share(Socket socket, int processId)
        {
            byte[] information = new byte[1024];
            int length = information.Length;
            int error;
            fixed (byte* buffer = information)
                error = Interop.SocketShare(socket.SafeHandle, processId, buffer, ref length);
            if (error != 0)
                throw Errors.ForSocket(error);
            Array.Resize(ref information, length);
            return information;
        }

        private static bool IsListening(Socket socket) =>
            (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.AcceptConnection)! != 0;
    }
}
