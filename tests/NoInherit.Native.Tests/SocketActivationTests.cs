using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Socket activation, both sides, with real children: ChildProcessOptions.ListenSockets passing to the test program in
/// its "take-listeners" role (<see cref="SocketActivationRoles"/>), and systemd's own systemd-socket-activate passing to
/// the same role.
/// </summary>
public sealed class SocketActivationTests
{
    private const string SystemdSocketActivate = "/usr/bin/systemd-socket-activate";

    /// <summary>A TCP listener, a UDP socket and a Unix-domain listener, passed by name: the child gets each under its name,
    /// with its family, type and protocol read from the descriptor, close-on-exec; a second take gets nothing; the
    /// variables are gone from both environments; a child of the child holds none of them; and each stream listener
    /// accepts a connection in the child.</summary>
    [Fact]
    public void TakeListeners_GetsWhatListenSocketsPassed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux: the descriptors convention (Windows: the _Windows test)");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the receiving child is the test program itself, which qemu-user cannot exec");
        using Socket tcp = Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        using Socket udp = BoundUdp();
        string path = Path.Combine(Path.GetTempPath(), $"ni-activation-{Guid.NewGuid():N}.sock");
        using Socket unix = Listener(AddressFamily.Unix, new UnixDomainSocketEndPoint(path));
        try
        {
            ProcessStartInfo start = Self.WithRole("take-listeners");
            start.Environment["LISTEN_FDS"] = "7"; // replaced, as is any LISTEN_* of the caller's
            var options = new ChildProcessOptions
            {
                ListenSockets = new List<ListenSocket> { new(tcp, "web"), new(udp, "dns"), new(unix, "admin") },
            };
            using ChildProcess child = ChildProcess.Start(start, options);
            string report = ReadReport(child);
            Assert.Equal(string.Join("\n",
                "socket=web InterNetwork Stream protocol-6 not-inheritable",
                "socket=dns InterNetwork Dgram protocol-17 not-inheritable",
                "socket=admin Unix Stream protocol-0 not-inheritable",
                "second=0", "variables=", "grandchild=", "end"), report);
            Assert.Equal("web", Receive(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)tcp.LocalEndPoint!).Port)));
            Assert.Equal("admin", Receive(new UnixDomainSocketEndPoint(path)));
            Assert.True(child.WaitForExit(30_000));
            Assert.Equal(0, child.ExitCode);
            Assert.Equal("LISTEN_FDS=7", "LISTEN_FDS=" + start.Environment["LISTEN_FDS"]); // the caller's start info is unchanged
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>Windows: a TCP listener and a UDP socket, duplicated for the child (WSADuplicateSocketW) and sent through
    /// the pipe it finds by name: the child gets each under its name, non-inheritable, once; the variable is gone; the
    /// listener accepts a connection in the child.</summary>
    [Fact]
    public void TakeListeners_GetsWhatListenSocketsPassed_Windows()
    {
        Assert.SkipUnless(OperatingSystem.IsWindows(), "Windows: the pipe convention (Linux: the test above)");
        using Socket tcp = Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        using Socket udp = BoundUdp();
        var options = new ChildProcessOptions { ListenSockets = new List<ListenSocket> { new(tcp, "web"), new(udp, "dns") } };
        using ChildProcess child = ChildProcess.Start(Self.WithRole("take-listeners"), options);
        Assert.Equal(string.Join("\n",
            "socket=web InterNetwork Stream protocol-6 not-inheritable",
            "socket=dns InterNetwork Dgram protocol-17 not-inheritable",
            "second=0", "variables=", "grandchild=", "end"), ReadReport(child));
        Assert.Equal("web", Receive(new IPEndPoint(IPAddress.Loopback, ((IPEndPoint)tcp.LocalEndPoint!).Port)));
        Assert.True(child.WaitForExit(60_000));
        Assert.Equal(0, child.ExitCode);
        Assert.True(tcp.IsBound); // still ours
        Assert.False(Inheritance.IsInheritable(tcp.SafeHandle));
    }

    /// <summary>Sockets passed without names are called "unknown", as systemd calls them.</summary>
    [Fact]
    public void ListenSocket_DefaultNameIsSystemds()
    {
        using Socket tcp = Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        Assert.Equal("unknown", new ListenSocket(tcp).Name);
        Assert.Throws<ArgumentException>("name", () => new ListenSocket(tcp, "a:b"));
        Assert.Throws<ArgumentException>("name", () => new ListenSocket(tcp, ""));
        Assert.Throws<ArgumentException>("name", () => new ListenSocket(tcp, new string('x', 256)));
        Assert.Throws<ArgumentException>("name", () => new ListenSocket(tcp, "new\nline"));
        Assert.Throws<ArgumentNullException>("socket", () => new ListenSocket(null!));
    }

    /// <summary>Variables meant for another process (LISTEN_PID is not ours, as in a child that inherited them): nothing is
    /// taken, the descriptor is left alone, and the variables are removed all the same.</summary>
    [Fact]
    public void TakeListeners_IgnoresVariablesForAnotherProcess()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux: the descriptors convention");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the receiving child is the test program itself, which qemu-user cannot exec");
        using Socket tcp = Listener(AddressFamily.InterNetwork, new IPEndPoint(IPAddress.Loopback, 0));
        ProcessStartInfo start = Self.WithRole("take-listeners");
        start.Environment["LISTEN_PID"] = "1";
        start.Environment["LISTEN_FDS"] = "1";
        start.Environment["LISTEN_FDNAMES"] = "web";
        var options = new ChildProcessOptions { InheritedHandlesByNumber = new Dictionary<int, System.Runtime.InteropServices.SafeHandle> { [3] = tcp.SafeHandle } };
        using ChildProcess child = ChildProcess.Start(start, options);
        Assert.Equal("second=0\nvariables=\ngrandchild=\nend", ReadReport(child));
        Assert.True(child.WaitForExit(30_000));
    }

    /// <summary>Variables for this process but malformed (a count that is not a number, more names than descriptors, a
    /// descriptor that is not a socket): InvalidOperationException saying which; the variables are removed all the same,
    /// and a descriptor named by a valid count is made close-on-exec before the check that fails.</summary>
    [Fact]
    public void TakeListeners_MalformedVariables_AreRefused()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Linux: the descriptors convention");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the receiving child is the test program itself, which qemu-user cannot exec");
        NoInheritFile.CreateAnonymousPipe(out var readEnd, out var writeEnd);
        using (readEnd)
        using (writeEnd)
        {
            var options = new ChildProcessOptions { InheritedHandlesByNumber = new Dictionary<int, System.Runtime.InteropServices.SafeHandle> { [3] = readEnd } };
            using ChildProcess child = ChildProcess.Start(Self.WithRole("malformed-activation"), options);
            Assert.Equal(string.Join("\n",
                "LISTEN_FDS is not a number of descriptors: 'x'.||True",
                "LISTEN_FDNAMES has 2 names for 1 descriptors: 'a:b'.||False",
                "Descriptor 3 ('web'), passed in LISTEN_FDS, is not a socket.||False", ""), child.StandardOutput.ReadToEnd());
            Assert.True(child.WaitForExit(30_000));
        }
    }

    /// <summary>A list with a null entry is refused before anything starts.</summary>
    [Fact]
    public void ListenSockets_NullEntryIsRefused()
    {
        var options = new ChildProcessOptions { ListenSockets = new List<ListenSocket> { null! } };
        Assert.Throws<ArgumentNullException>("ListenSockets[0]", () => ChildProcess.Start(ChildPrograms.Exit(0), options));
    }

    /// <summary>systemd's own passing side (Debian's systemd-socket-activate, which sets LISTEN_FDS, LISTEN_PID and
    /// LISTEN_FDNAMES and executes the program on the first connection) to our receiving side.</summary>
    [Fact]
    public void TakeListeners_GetsWhatSystemdSocketActivatePassed()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "systemd is Linux's");
        Assert.SkipUnless(File.Exists(SystemdSocketActivate), $"{SystemdSocketActivate} is not installed (Debian's systemd package)");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "systemd-socket-activate (a host program) executes the test program, which only qemu-user can run");
        string path = Path.Combine(Path.GetTempPath(), $"ni-activation-{Guid.NewGuid():N}.sock");
        var start = new ProcessStartInfo(SystemdSocketActivate) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "-l", path, "--fdname=web", "-E", "NI_CHILD_ROLE=take-listeners" })
            start.ArgumentList.Add(argument);
        foreach (string name in new[] { "DOTNET_ROOT", "DOTNET_ROLL_FORWARD", "HOME" }) // it passes on only what -E names
        {
            if (Environment.GetEnvironmentVariable(name) != null)
                start.ArgumentList.Add($"-E{name}");
        }
        foreach (string part in Self.Command)
            start.ArgumentList.Add(part);
        using ChildProcess child = ChildProcess.Start(start);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            while (!File.Exists(path) && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
                System.Threading.Thread.Sleep(20);
            // The first connection makes it execute the program; the program then accepts it and sends the name.
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(path));
            string report = ReadReport(child);
            Assert.Equal("socket=web Unix Stream protocol-0 not-inheritable\nsecond=0\nvariables=\ngrandchild=\nend", report);
            Assert.Equal("web", ReadAll(client));
            Assert.True(child.WaitForExit(30_000));
            Assert.Equal(0, child.ExitCode);
        }
        finally
        {
            if (!child.HasExited)
                child.Kill();
            File.Delete(path);
        }
    }

    private static Socket BoundUdp()
    {
        Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    internal static Socket Listener(AddressFamily family, EndPoint endPoint)
    {
        Socket socket = NoInheritSocket.Create(family, SocketType.Stream, family == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        socket.Bind(endPoint);
        socket.Listen();
        return socket;
    }

    /// <summary>The child's report: its output up to "end" (it then waits for connections), or all of it with its error output.</summary>
    private static string ReadReport(ChildProcess child)
    {
        var lines = new List<string>();
        string? line;
        while ((line = child.StandardOutput.ReadLine()) != null)
        {
            lines.Add(line);
            if (line == "end")
                return string.Join("\n", lines);
        }
        return string.Join("\n", lines) + "\n" + child.StandardError.ReadToEnd();
    }

    private static string Receive(EndPoint endPoint)
    {
        using var client = new Socket(endPoint.AddressFamily, SocketType.Stream, endPoint.AddressFamily == AddressFamily.Unix ? ProtocolType.Unspecified : ProtocolType.Tcp);
        client.Connect(endPoint);
        return ReadAll(client);
    }

    private static string ReadAll(Socket client)
    {
        client.ReceiveTimeout = 30_000;
        using var stream = new NetworkStream(client);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return reader.ReadToEnd();
    }
}
