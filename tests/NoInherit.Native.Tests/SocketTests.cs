using System;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>NoInheritSocket.Create against new Socket(family, type, protocol).</summary>
public class SocketTests
{
    public static TheoryData<AddressFamily, SocketType, ProtocolType> Matrix()
    {
        var data = new TheoryData<AddressFamily, SocketType, ProtocolType>();
        AddressFamily[] families = [AddressFamily.InterNetwork, AddressFamily.InterNetworkV6, AddressFamily.Unix];
        SocketType[] types = [SocketType.Stream, SocketType.Dgram, SocketType.Seqpacket, SocketType.Raw, SocketType.Rdm];
        ProtocolType[] protocols = [ProtocolType.Unspecified, ProtocolType.Tcp, ProtocolType.Udp];
        foreach (AddressFamily family in families)
            foreach (SocketType type in types)
                foreach (ProtocolType protocol in protocols)
                    data.Add(family, type, protocol);

        // Values outside what the library (or the enums) define.
        foreach (AddressFamily family in new[] { AddressFamily.Unspecified, AddressFamily.Unknown, AddressFamily.AppleTalk, (AddressFamily)12345 })
            data.Add(family, SocketType.Stream, ProtocolType.Tcp);
        foreach (SocketType type in new[] { SocketType.Unknown, (SocketType)0, (SocketType)4, (SocketType)99 })
        {
            data.Add(AddressFamily.InterNetwork, type, ProtocolType.Unspecified);
            data.Add(AddressFamily.Unix, type, ProtocolType.Unspecified);
        }
        foreach (ProtocolType protocol in new[] { ProtocolType.Unknown, (ProtocolType)9999, (ProtocolType)(-2), ProtocolType.IcmpV6, ProtocolType.Icmp, ProtocolType.IP })
        {
            data.Add(AddressFamily.InterNetwork, SocketType.Stream, protocol);
            data.Add(AddressFamily.InterNetworkV6, SocketType.Dgram, protocol);
            data.Add(AddressFamily.InterNetwork, SocketType.Raw, protocol);
        }
        data.Add((AddressFamily)12345, (SocketType)99, (ProtocolType)9999);
        data.Add(AddressFamily.InterNetwork, (SocketType)99, (ProtocolType)9999);
        return data;
    }

    internal static string Describe(Socket socket, bool withLocalEndPoint = true)
    {
        var text = new StringBuilder();
        text.Append($"AddressFamily={socket.AddressFamily} SocketType={socket.SocketType} ProtocolType={socket.ProtocolType}");
        text.Append($" Blocking={socket.Blocking} IsBound={socket.IsBound} Connected={socket.Connected}");
        if (withLocalEndPoint)
            text.Append($" LocalEndPoint={socket.LocalEndPoint?.ToString() ?? "<null>"}");
        // A raw socket receives whatever the host's traffic of that protocol is (other tests' loopback
        // connections), so its Available depends on timing, not on how it was created.
        if (socket.SocketType != SocketType.Raw)
            text.Append($" Available={socket.Available}");
        text.Append(" DualMode=").Append(Outcome.Of(() => socket.DualMode.ToString()));
        text.Append(" inheritable=").Append(Inheritance.IsInheritable(socket.SafeHandle));
        return text.ToString();
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public void Create_MatchesNewSocket(AddressFamily family, SocketType type, ProtocolType protocol)
    {
        string expected = Outcome.Of(() =>
        {
            using var socket = new Socket(family, type, protocol);
            return Describe(socket);
        });
        string actual = Outcome.Of(() =>
        {
            using Socket socket = NoInheritSocket.Create(family, type, protocol);
            return Describe(socket);
        });
        Outcome.AssertSame(expected, actual);
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork, ProtocolType.Tcp)]
    [InlineData(AddressFamily.InterNetwork, ProtocolType.Unspecified)]
    [InlineData(AddressFamily.InterNetworkV6, ProtocolType.Tcp)]
    public void Create_StreamSocket_Works_OnLoopback(AddressFamily family, ProtocolType protocol)
    {
        IPAddress loopback = family == AddressFamily.InterNetwork ? IPAddress.Loopback : IPAddress.IPv6Loopback;
        Assert.SkipUnless(family == AddressFamily.InterNetwork || Socket.OSSupportsIPv6, "IPv6 is not available here.");
        using Socket listener = NoInheritSocket.Create(family, SocketType.Stream, protocol);
        listener.Bind(new IPEndPoint(loopback, 0));
        listener.Listen();
        using Socket client = NoInheritSocket.Create(family, SocketType.Stream, protocol);
        client.Connect(listener.LocalEndPoint!);
        using Socket server = listener.Accept();
        Assert.Equal(client.LocalEndPoint, server.RemoteEndPoint);
        AssertExchange(client, server);
    }

    [Fact]
    public void Create_DatagramSocket_Works_OnLoopback()
    {
        using Socket receiver = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using Socket sender = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Unspecified);
        sender.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        sender.SendTo("datagram"u8, receiver.LocalEndPoint!);
        byte[] buffer = new byte[64];
        EndPoint from = new IPEndPoint(IPAddress.Any, 0);
        int count = receiver.ReceiveFrom(buffer, ref from);
        Assert.Equal("datagram", Encoding.UTF8.GetString(buffer, 0, count));
        Assert.Equal(sender.LocalEndPoint, from);
    }

    [Theory]
    [InlineData(SocketType.Stream)]
    [InlineData(SocketType.Seqpacket)]
    public void Create_UnixSocket_Works(SocketType type)
    {
        Assert.SkipUnless(Socket.OSSupportsUnixDomainSockets, "Unix domain sockets are not available here.");
        using var dir = new TempDirectory();
        var endPoint = new UnixDomainSocketEndPoint(dir.Combine("socket"));
        using Socket listener = NoInheritSocket.Create(AddressFamily.Unix, type, ProtocolType.Unspecified);
        listener.Bind(endPoint);
        listener.Listen();
        using Socket client = NoInheritSocket.Create(AddressFamily.Unix, type, ProtocolType.Unspecified);
        client.Connect(endPoint);
        using Socket server = listener.Accept();
        AssertExchange(client, server);
    }

    internal static void AssertExchange(Socket client, Socket server)
    {
        client.Send("ping"u8);
        Assert.Equal("ping", ReceiveExactly(server, 4));
        server.Send("pong!"u8);
        Assert.Equal("pong!", ReceiveExactly(client, 5));
    }

    internal static string ReceiveExactly(Socket socket, int count)
    {
        byte[] buffer = new byte[count];
        int received = 0;
        while (received < count)
        {
            int n = socket.Receive(buffer.AsSpan(received));
            if (n == 0)
                throw new EndOfStreamException($"the peer closed after {received} of {count} bytes");
            received += n;
        }
        return Encoding.UTF8.GetString(buffer);
    }
}
