using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// On .NET 11, ProcessStartInfo's new properties set on the start info itself (here by reflection: the tests are built
/// for net8.0 and net10.0) are honoured by ChildProcess.Start, or refused naming them; none is ignored. These run on the
/// .NET 11 lane (build/dotnet11.sh) and skip elsewhere, where the properties do not exist.
/// </summary>
public class StartInfoPropertiesTests
{
    private static ProcessStartInfo With(ProcessStartInfo start, string property, object? value)
    {
        Net11.Set(start, property, value);
        return start;
    }

    [Fact]
    public void InheritedHandles_OnTheStartInfo_AreGivenToTheChild()
    {
        Net11.Require("ProcessStartInfo.InheritedHandles");
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child lists /proc/self/fd");
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        using (read)
        using (write)
        {
            ProcessStartInfo start = With(new ProcessStartInfo("/bin/sh", $"-c \"readlink /proc/$$/fd/{read.DangerousGetHandle()}\"") { RedirectStandardOutput = true },
                "InheritedHandles", new List<SafeHandle> { read });
            using ChildProcess child = ChildProcess.Start(start);
            Assert.StartsWith("pipe:", child.StandardOutput.ReadToEnd());
            // A socket: .NET 11's Process.Start refuses it (files and pipes only); ours passes it.
            using var socket = NoInheritSocket.Create(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            var withSocket = new ProcessStartInfo("/bin/sh", $"-c \"readlink /proc/$$/fd/{socket.SafeHandle.DangerousGetHandle()}\"") { RedirectStandardOutput = true };
            Net11.Set(withSocket, "InheritedHandles", new List<SafeHandle> { socket.SafeHandle });
            Assert.Throws<ArgumentException>(() => Process.Start(withSocket));
            using (ChildProcess withIt = ChildProcess.Start(withSocket))
                Assert.StartsWith("socket:", withIt.StandardOutput.ReadToEnd());
            // And .NET 11's ArgumentNullException for a null entry.
            Net11.Set(start, "InheritedHandles", new List<SafeHandle> { null! });
            Assert.Equal("InheritedHandles[0]", Assert.Throws<ArgumentNullException>(() => ChildProcess.Start(start)).ParamName);
        }
    }

    [Theory]
    [InlineData("StandardInputHandle")]
    [InlineData("StandardOutputHandle")]
    [InlineData("StandardErrorHandle")]
    public void StandardHandles_OnTheStartInfo_AreTheChildsStreams(string property)
    {
        Net11.Require("ProcessStartInfo." + property);
        using var dir = new TempDirectory();
        string file = dir.Combine("stream");
        File.WriteAllText(file, property == "StandardInputHandle" ? "in\n" : "");
        using SafeFileHandle handle = NoInheritFile.OpenHandle(file, FileMode.Open, FileAccess.ReadWrite);
        ProcessStartInfo start = With(Shell("read line; echo \"$line out\"; echo err >&2", "set /p line=& echo out& echo err 1>&2"), property, handle);
        if (property != "StandardInputHandle")
            start.RedirectStandardInput = true; // so that `read` ends at once
        using (ChildProcess child = ChildProcess.Start(start))
        {
            if (property != "StandardInputHandle")
                child.StandardInput.Close();
            child.WaitForExit();
        }
        string expected = property switch { "StandardInputHandle" => "in\n", "StandardOutputHandle" => "out", _ => "err" };
        Assert.Contains(expected.Trim(), File.ReadAllText(file));
        // Given on both the start info and the options: refused.
        Assert.Contains(property, Assert.Throws<InvalidOperationException>(() => ChildProcess.Start(start, new ChildProcessOptions
        {
            StandardInputHandle = property == "StandardInputHandle" ? handle : null,
            StandardOutputHandle = property == "StandardOutputHandle" ? handle : null,
            StandardErrorHandle = property == "StandardErrorHandle" ? handle : null,
        })).Message);
    }

    [Theory]
    [InlineData("KillOnParentExit")]
    [InlineData("StartDetached")]
    [InlineData("StartSuspended")]
    public void ProcessOptions_OnTheStartInfo_AreHonoured_OrRefusedByName(string property)
    {
        Net11.Require("ProcessStartInfo." + property);
        ProcessStartInfo start = With(SleeperStartInfo(), property, true);
        if (Windows)
        {
            // Honoured through the same flags as ChildProcessOptions' (their Windows tests); here: taken, not refused.
            using ChildProcess windowsChild = ChildProcess.Start(start);
            if (property == "StartSuspended")
                windowsChild.Resume();
            Assert.False(windowsChild.HasExited);
            windowsChild.Kill();
            return;
        }
        using ChildProcess child = ChildProcess.Start(start);
        try
        {
            string stat = File.ReadAllText($"/proc/{child.Id}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            switch (property)
            {
                case "StartDetached":
                    Assert.Equal(child.Id.ToString(), fields[3]); // it leads a session
                    break;
                case "StartSuspended":
                    // .NET 11's Process.Start refuses it on Linux; ours starts the child, which waits before exec.
                    Assert.Throws<PlatformNotSupportedException>(() => Process.Start(start));
                    Assert.DoesNotContain("(sleep)", stat); // a suspended child has not run the program yet
                    child.Resume();
                    Assert.Contains("(sleep)", File.ReadAllText($"/proc/{child.Id}/stat"));
                    break;
                case "KillOnParentExit":
                    Assert.False(child.HasExited); // the holding is proven by ChildProcessOptionsTests' parent that exits
                    break;
            }
        }
        finally
        {
            child.Kill();
        }
    }

    [Fact]
    public void CreateNewProcessGroup_OnTheStartInfo_IsHonoured_OrRefusedByName()
    {
        Assert.SkipUnless(Windows, "ProcessStartInfo.CreateNewProcessGroup can be set on Windows only (its setter throws elsewhere)");
        Assert.SkipUnless(typeof(ProcessStartInfo).GetProperty("CreateNewProcessGroup") != null, "the running runtime (before .NET 10) has no ProcessStartInfo.CreateNewProcessGroup");
        ProcessStartInfo start = With(Exit(7), "CreateNewProcessGroup", true);
        using ChildProcess child = ChildProcess.Start(start); // honoured as ChildProcessOptions.CreateNewProcessGroup (its tests)
        Assert.Equal(7, child.WaitForExitStatus().ExitCode);
    }

    /// <summary>
    /// A property of a later runtime that this library does not know is refused when set: shown here by pretending not to
    /// know one (CreateNoWindow, on every runtime; KillOnParentExit too on .NET 11).
    /// </summary>
    [Fact]
    public void APropertyThisLibraryDoesNotKnow_IsRefusedWhenSet()
    {
        var known = new HashSet<string>(StartInfoProperties.KnownProperties);
        known.Remove("CreateNoWindow");
        known.Remove("KillOnParentExit");
        (PropertyInfo Property, object? Default)[] unknown = StartInfoProperties.PropertiesNotIn(known);
        Assert.Contains(unknown, u => u.Property.Name == "CreateNoWindow");
        Assert.Null(StartInfoProperties.FirstSet(new ProcessStartInfo("x"), unknown));
        Assert.Equal("CreateNoWindow", StartInfoProperties.FirstSet(new ProcessStartInfo("x") { CreateNoWindow = true }, unknown));
        if (Net11.Available)
            Assert.Equal("KillOnParentExit", StartInfoProperties.FirstSet(With(new ProcessStartInfo("x"), "KillOnParentExit", true), unknown));
        // The running runtime's own properties are all known: nothing is refused for not being known.
        Assert.Empty(StartInfoProperties.PropertiesNotIn(StartInfoProperties.KnownProperties));
    }
}
