using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace NoInherit.Native.Tests;

/// <summary>
/// The test program as the receiving side of socket activation (NI_CHILD_ROLE=take-listeners), run before the test
/// runner starts. It takes its sockets, then prints one line each: "socket=name family type protocol-number inheritable"; then
/// "second=N" (what a second TakeListeners gave), "variables=..." (the LISTEN_* variables the runtime and the native
/// environment still have), "grandchild=..." (the taken sockets that a child started with Process.Start holds: the
/// BCL passes every inheritable descriptor on), and "end". It then accepts one connection on each stream listener and
/// sends the socket's name, and exits.
/// </summary>
internal static partial class SocketActivationRoles
{
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "the child role must run before the test runner")]
    internal static void Run()
    {
        string? role = Environment.GetEnvironmentVariable("NI_CHILD_ROLE");
        if (role == "successor")
            Successor();
        if (role == "malformed-activation")
            Malformed();
        if (role != "take-listeners")
            return;
        Environment.SetEnvironmentVariable("NI_CHILD_ROLE", null); // not for the grandchild
        IReadOnlyList<ListenSocket> sockets = SocketActivation.TakeListeners();
        var report = new StringBuilder();
        foreach ((string name, Socket socket) in sockets)
        {
            report.Append($"socket={name} {socket.AddressFamily} {socket.SocketType} protocol-{(int)socket.ProtocolType} ")
                .Append(Inheritance.IsInheritable(socket.SafeHandle) ? "inheritable" : "not-inheritable").Append('\n');
        }
        report.Append($"second={SocketActivation.TakeListeners().Count}\n");
        report.Append($"variables={string.Join(",", StillSet())}\n");
        report.Append($"grandchild={string.Join(",", HeldByAGrandchild(sockets))}\nend\n");
        Console.Out.Write(report.ToString());
        Console.Out.Flush();
        foreach ((string name, Socket socket) in sockets)
        {
            if (socket.SocketType != SocketType.Stream)
                continue;
            using Socket connection = socket.Accept();
            connection.Send(Encoding.ASCII.GetBytes(name));
            connection.Shutdown(SocketShutdown.Both);
        }
        Environment.Exit(0);
    }

    /// <summary>"successor": a HotRestart successor. Takes its listeners, reports whether the readiness pipe is
    /// inheritable here ("ready-pipe=..."), signals ready (and again: "ready=True,False"), then accepts one connection on
    /// the first socket and sends its pid.</summary>
    private static void Successor()
    {
        IReadOnlyList<ListenSocket> sockets = SocketActivation.TakeListeners();
        string fd = Environment.GetEnvironmentVariable("NOINHERIT_READY") ?? "gone";
        bool first = HotRestart.SignalReady(), second = HotRestart.SignalReady();
        Console.Out.Write($"sockets={sockets.Count} variable={fd} ready={first},{second}\n");
        Console.Out.Flush();
        using Socket connection = sockets[0].Socket.Accept();
        connection.Send(Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        connection.Shutdown(SocketShutdown.Both);
        Environment.Exit(0);
    }

    /// <summary>"malformed-activation": descriptor 3 is a pipe. Sets the variables for itself (its own pid) three wrong
    /// ways and prints, one line each, what TakeListeners threw and whether the variables and descriptor 3 are left as
    /// they should be ("exception|variables|fd3 inheritable").</summary>
    private static void Malformed()
    {
        foreach ((string count, string? names) in new[] { ("x", (string?)null), ("1", "a:b"), ("1", "web") })
        {
            Environment.SetEnvironmentVariable("LISTEN_PID", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Environment.SetEnvironmentVariable("LISTEN_FDS", count);
            Environment.SetEnvironmentVariable("LISTEN_FDNAMES", names);
            string outcome;
            try
            {
                outcome = $"took {SocketActivation.TakeListeners().Count}";
            }
            catch (InvalidOperationException e)
            {
                outcome = e.Message;
            }
            using var fd3 = new Microsoft.Win32.SafeHandles.SafeFileHandle(3, ownsHandle: false);
            Console.Out.Write($"{outcome}|{string.Join(",", StillSet())}|{Inheritance.IsInheritable(fd3)}\n");
        }
        Console.Out.Flush();
        Environment.Exit(0);
    }

    private static IEnumerable<string> StillSet()
    {
        foreach (string name in new[] { "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOINHERIT_LISTEN_PIPE", "NOINHERIT_READY" })
        {
            if (Environment.GetEnvironmentVariable(name) != null)
                yield return "runtime:" + name;
            if (OperatingSystem.IsLinux() && getenv(name) != 0)
                yield return "native:" + name;
        }
    }

    /// <summary>Linux: the taken sockets' inodes found among the descriptors of a child started with Process.Start.</summary>
    private static IEnumerable<string> HeldByAGrandchild(IReadOnlyList<ListenSocket> sockets)
    {
        if (!OperatingSystem.IsLinux())
            return Array.Empty<string>();
        string[] ours = sockets.Select(s => new FileInfo($"/proc/self/fd/{s.Socket.Handle}").LinkTarget!).ToArray();
        using Process child = Process.Start(new ProcessStartInfo("/bin/sh", new[] { "-c", "for f in /proc/$$/fd/*; do readlink $f; done" })
        {
            RedirectStandardOutput = true,
        })!;
        string[] held = child.StandardOutput.ReadToEnd().Split('\n');
        child.WaitForExit();
        return ours.Intersect(held);
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint getenv(string name);
}
