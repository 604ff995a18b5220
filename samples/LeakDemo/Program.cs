// LeakDemo: the leak NoInherit.Native prevents, side by side.
//
// Each side opens a listening socket, a log file and a pipe, starts a long-lived child (`sleep`),
// closes its own copies and then looks at what is left. The "ordinary" side creates them the way
// native code does (socket(2), open(2), pipe(2) without close-on-exec), so the child inherits them;
// the NoInherit side creates them through NoInherit.Native. Exit code 0 only when the NoInherit side
// is clean.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using NoInherit.Native;

if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("LeakDemo inspects /proc/<pid>/fd and runs on Linux only.");
    return 2;
}

string work = Directory.CreateTempSubdirectory("leakdemo-").FullName;
try
{
    Console.WriteLine("LeakDemo: a parent opens a listening socket, a log file and a pipe, starts `sleep 20`,");
    Console.WriteLine("closes its own copies, and checks what the child kept.");
    Console.WriteLine();
    Outcome ordinary = Run("ordinary", Path.Combine(work, "ordinary.log"), new OrdinaryCreators());
    Outcome ours = Run("NoInherit.Native", Path.Combine(work, "noinherit.log"), new NoInheritCreators());

    const string row = "{0,-34} {1,-30} {2,-30}";
    Console.WriteLine(row, "", "ordinary (socket/open/pipe)", "NoInherit.Native");
    Console.WriteLine(row, new string('-', 34), new string('-', 30), new string('-', 30));
    Console.WriteLine(row, "port can be bound again", ordinary.PortRebind, ours.PortRebind);
    Console.WriteLine(row, "log file held by the child", ordinary.FileHeld, ours.FileHeld);
    Console.WriteLine(row, "pipe reader sees EOF", ordinary.PipeEof, ours.PipeEof);
    Console.WriteLine(row, "descriptors the child inherited", ordinary.Inherited, ours.Inherited);
    Console.WriteLine();
    bool spawnClean = ChildProcessSection(Path.Combine(work, "left-inheritable.log"));
    Console.WriteLine();
    if (ours.Clean && spawnClean)
    {
        Console.WriteLine(ordinary.Clean
            ? "NoInherit.Native side is clean (the ordinary side did not leak here either)."
            : "NoInherit.Native side is clean; the ordinary side leaked into the child.");
        return 0;
    }
    Console.WriteLine("FAILED: the NoInherit.Native side leaked into the child.");
    return 1;
}
finally
{
    Directory.Delete(work, recursive: true);
}

static Outcome Run(string name, string logPath, ICreators creators)
{
    Console.WriteLine($"[{name}] creating a listener, a log file and a pipe; starting the child");
    Socket listener = creators.Listener();
    listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    listener.Listen();
    int port = ((IPEndPoint)listener.LocalEndPoint!).Port;
    SafeFileHandle log = creators.File(logPath);
    creators.Pipe(out SafeFileHandle pipeRead, out SafeFileHandle pipeWrite);
    // What each descriptor looks like in a /proc/<pid>/fd listing: the marker to look for in the child.
    string[] markers = [logPath, LinkOf(listener.SafeHandle), LinkOf(pipeWrite)];

    using Process child = Process.Start(new ProcessStartInfo("sleep", "20") { UseShellExecute = false })!;
    try
    {
        // The parent is done with everything but the pipe's read end.
        listener.Dispose();
        log.Dispose();
        pipeWrite.Dispose();

        HashSet<string> held = ChildDescriptors(child.Id);
        var outcome = new Outcome(
            PortRebind: CanBind(port) ? "yes" : $"NO: port {port} still in use",
            FileHeld: held.Contains(logPath) ? "YES: the child keeps it open" : "no",
            PipeEof: SeesEof(pipeRead) ? "yes" : "NO: writer alive in the child",
            Inherited: $"{markers.Count(held.Contains)} of {markers.Length}");
        Console.WriteLine($"[{name}] child {child.Id} holds: {string.Join(", ", held.OrderBy(t => t))}");
        Console.WriteLine();
        return outcome;
    }
    finally
    {
        pipeRead.Dispose();
        child.Kill();
        child.WaitForExit();
    }
}

// Other code (a native library, an old API) leaves a descriptor inheritable. Process.Start's child gets
// it; a child started with ChildProcess.Start gets exactly its standard streams and what it is given.
static bool ChildProcessSection(string logPath)
{
    Console.WriteLine("ChildProcess: another part of the process left a log file inheritable (open(2) without O_CLOEXEC).");
    SafeFileHandle leaked = new OrdinaryCreators().File(logPath);
    try
    {
        using Process bcl = Process.Start(new ProcessStartInfo("sleep", "20") { UseShellExecute = false })!;
        using ChildProcess ours = ChildProcess.Start(new ProcessStartInfo("sleep", "20"));
        try
        {
            bool bclHolds = ChildDescriptors(bcl.Id).Contains(logPath);
            bool oursHolds = ChildDescriptors(ours.Id).Contains(logPath);
            const string row = "{0,-34} {1,-30} {2,-30}";
            Console.WriteLine(row, "", "Process.Start", "ChildProcess.Start");
            Console.WriteLine(row, new string('-', 34), new string('-', 30), new string('-', 30));
            Console.WriteLine(row, "child holds the inheritable file", bclHolds ? "YES: it was inherited" : "no", oursHolds ? "YES: it was inherited" : "no");
            return !oursHolds;
        }
        finally
        {
            bcl.Kill();
            ours.Kill();
            bcl.WaitForExit();
            ours.WaitForExit();
        }
    }
    finally
    {
        leaked.Dispose();
    }
}

static string LinkOf(SafeHandle handle) =>
    new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget ?? "";

static HashSet<string> ChildDescriptors(int pid)
{
    var targets = new HashSet<string>();
    foreach (string fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
    {
        try
        {
            if (new FileInfo(fd).LinkTarget is string target)
                targets.Add(target);
        }
        catch (IOException) { } // closed while we looked
    }
    return targets;
}

static bool CanBind(int port)
{
    using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    try
    {
        probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
        probe.Listen();
        return true;
    }
    catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
    {
        return false;
    }
}

static bool SeesEof(SafeFileHandle read)
{
    // A reader sees EOF only once every write end is closed; give it a second.
    using var stream = new FileStream(read, FileAccess.Read, 1);
    var pending = stream.ReadAsync(new byte[1]).AsTask();
    return pending.Wait(TimeSpan.FromSeconds(1)) && pending.Result == 0;
}

record Outcome(string PortRebind, string FileHeld, string PipeEof, string Inherited)
{
    public bool Clean => PortRebind == "yes" && FileHeld == "no" && PipeEof == "yes" && Inherited.StartsWith("0 ");
}

interface ICreators
{
    Socket Listener();
    SafeFileHandle File(string path);
    void Pipe(out SafeFileHandle read, out SafeFileHandle write);
}

sealed class NoInheritCreators : ICreators
{
    public Socket Listener() => NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    public SafeFileHandle File(string path) => NoInheritFile.OpenHandle(path, FileMode.Create, FileAccess.Write);
    public void Pipe(out SafeFileHandle read, out SafeFileHandle write) => NoInheritFile.CreateAnonymousPipe(out read, out write);
}

// What native code (a C library, an older runtime, a hand-written P/Invoke) does by default.
sealed unsafe partial class OrdinaryCreators : ICreators
{
    private const int AF_INET = 2, SOCK_STREAM = 1, O_WRONLY = 1, O_CREAT = 0x40, O_TRUNC = 0x200;

    public Socket Listener() => new(new SafeSocketHandle(Check(socket(AF_INET, SOCK_STREAM, 0)), ownsHandle: true));

    public SafeFileHandle File(string path) => new(Check(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0x1A4)), ownsHandle: true);

    public void Pipe(out SafeFileHandle read, out SafeFileHandle write)
    {
        int* fds = stackalloc int[2];
        Check(pipe(fds));
        read = new SafeFileHandle(fds[0], ownsHandle: true);
        write = new SafeFileHandle(fds[1], ownsHandle: true);
    }

    private static nint Check(int result) =>
        result >= 0 ? result : throw new IOException(Marshal.GetLastPInvokeErrorMessage());

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags, int mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int pipe(int* fds);
}
