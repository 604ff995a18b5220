// Uses NoInherit.Native as an app would and checks, in a real child where the platform allows,
// that what it creates is not inherited while an explicitly inheritable control is.
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using NoInherit.Native;

if (args.Contains("--expect-missing-native"))
{
    try
    {
        _ = Inheritance.NativeVersion;
        Console.Error.WriteLine("consumer: the native library loaded although it was removed");
        return 1;
    }
    catch (DllNotFoundException e) when (e.Message.Contains(RuntimeInformation.RuntimeIdentifier) && e.Message.Contains("runtimes"))
    {
        Console.WriteLine($"consumer OK: missing native library reported: {e.Message}");
        return 0;
    }
}

string dir = Directory.CreateTempSubdirectory("ni-consumer-").FullName;
try
{
    string oursPath = Path.Combine(dir, "ours.txt");
    string controlPath = Path.Combine(dir, "control.txt");
    using SafeFileHandle ours = NoInheritFile.OpenHandle(oursPath, FileMode.Create, FileAccess.Write);
    using SafeFileHandle control = NoInheritFile.OpenHandle(controlPath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Inheritable);
    using Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    NoInheritFile.Copy(oursPath, Path.Combine(dir, "copy.txt"));

    Check(!Inheritance.IsInheritable(ours), "our file handle reads as inheritable");
    Check(!Inheritance.IsInheritable(socket.SafeHandle), "our socket reads as inheritable");
    Check(Inheritance.IsInheritable(control), "the FileShare.Inheritable control reads as not inheritable");

    string childCheck = "no child check on this platform";
    if (OperatingSystem.IsLinux())
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("for f in /proc/self/fd/*; do readlink \"$f\"; done");
        using Process child = Process.Start(start)!;
        string[] held = child.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        child.WaitForExit();
        Check(held.Contains(controlPath), "the child does not hold the inheritable control, so the check is blind");
        Check(!held.Contains(oursPath), "the child inherited our file");

        // .NET 11's process API on ChildProcess (reflection over ProcessStartInfo's newer properties included, which
        // trimming and NativeAOT must keep working): its child gets neither our file nor the inheritable control.
        ChildProcessTextOutput captured = ChildProcess.RunAndCaptureText("/bin/sh", ["-c", "for f in /proc/self/fd/*; do readlink \"$f\"; done; exit 3"]);
        string[] ours11 = captured.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Check(captured.ExitStatus.ExitCode == 3 && !captured.ExitStatus.Canceled, $"RunAndCaptureText's exit status: {captured.ExitStatus.ExitCode}");
        Check(!ours11.Contains(controlPath) && !ours11.Contains(oursPath), "ChildProcess's child inherited a file");
        using SafeFileHandle nul = NoInheritFile.OpenNullHandle();
        using ChildProcess sleeper = ChildProcess.Start(new ProcessStartInfo("/bin/sleep", "30"), new ChildProcessOptions { StandardOutputHandle = nul });
        Check(sleeper.Signal(PosixSignal.SIGTERM), "Signal found the child gone");
        Check(sleeper.WaitForExitStatus().Signal == PosixSignal.SIGTERM, "the exit status does not name SIGTERM");
        childCheck = "a child holds the control and not ours; ChildProcess's holds neither";
    }

    Console.WriteLine($"consumer OK: {RuntimeInformation.RuntimeIdentifier}, {RuntimeInformation.FrameworkDescription}, " +
        $"aot={!RuntimeFeature.IsDynamicCodeSupported}, native {Inheritance.NativeVersion}, {Inheritance.Capabilities}; {childCheck}");
    return 0;
}
finally
{
    Directory.Delete(dir, recursive: true);
}

static void Check(bool condition, string failure)
{
    if (!condition)
    {
        Console.Error.WriteLine($"consumer FAILED: {failure}");
        Environment.Exit(1);
    }
}
