using System;
using System.Net.Sockets;

namespace NoInherit.Native;

/// <summary>
/// A socket handed from one process to another by socket activation, with its name: what
/// <see cref="ChildProcessOptions.ListenSockets"/> passes and <see cref="SocketActivation.TakeListeners"/> returns. The
/// name is systemd's <c>FileDescriptorName=</c> (<c>LISTEN_FDNAMES</c>); a socket passed without names is called
/// <see cref="DefaultName"/>, as sd_listen_fds_with_names(3) calls it.
/// </summary>
public sealed class ListenSocket
{
    /// <summary>The name of a socket passed without one: "unknown", as systemd names it.</summary>
    public const string DefaultName = "unknown";

    /// <summary>Pairs <paramref name="socket"/> with <paramref name="name"/>.</summary>
    /// <param name="socket">The socket (usually listening, but any socket can be passed).</param>
    /// <param name="name">Its name: 1 to 255 printable ASCII characters other than ':' (which separates the names in
    /// <c>LISTEN_FDNAMES</c>), as systemd accepts them.</param>
    /// <exception cref="ArgumentNullException"><paramref name="socket"/> or <paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid name.</exception>
    public ListenSocket(Socket socket, string name = DefaultName)
    {
        ArgumentNullException.ThrowIfNull(socket);
        ArgumentNullException.ThrowIfNull(name);
        if (!IsValidName(name))
            throw new ArgumentException($"'{name}' is not a valid socket name: 1 to 255 printable ASCII characters, no ':'.", nameof(name));
        Socket = socket;
        Name = name;
    }

    /// <summary>The socket.</summary>
    public Socket Socket { get; }

    /// <summary>Its name.</summary>
    public string Name { get; }

    /// <summary>Deconstructs into the name and the socket.</summary>
    public void Deconstruct(out string name, out Socket socket)
    {
        name = Name;
        socket = Socket;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {Socket.LocalEndPoint}";

    /// <summary>systemd's rule for a file descriptor name (fdname_is_valid): printable ASCII, no ':', 1 to 255 long.</summary>
    internal static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 255)
            return false;
        foreach (char c in name)
        {
            if (c < ' ' || c > '~' || c == ':')
                return false;
        }
        return true;
    }
}
