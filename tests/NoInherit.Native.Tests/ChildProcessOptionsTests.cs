using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using Xunit;
using static NoInherit.Native.Tests.ChildPrograms;

namespace NoInherit.Native.Tests;

/// <summary>
/// ChildProcess.Start(startInfo, ChildProcessOptions): handles passed (any kind, sockets too) under their own numbers or
/// chosen ones, any handle as a standard stream, the process options honoured or refused by name, and
/// NoInheritFile.OpenNullHandle.
/// </summary>
public class ChildProcessOptionsTests
{
    private const string ListScript = "for f in /proc/$$/fd/*; do printf '%s ' \"${f##*/}\"; readlink \"$f\" || echo '?'; done";

    private static Dictionary<int, string> Listing(ChildProcessOptions options)
    {
        ProcessStartInfo start = Shell(ListScript, "");
        start.RedirectStandardOutput = true;
        using ChildProcess child = ChildProcess.Start(start, options);
        string output = child.StandardOutput.ReadToEnd();
        Assert.Equal(0, child.WaitForExitStatus().ExitCode);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ', 2))
            .Where(p => p[1] != "?").ToDictionary(p => int.Parse(p[0]), p => p[1]);
    }

    [Fact]
    public void InheritedHandles_AndByNumber_TheChildHoldsThem_SocketsIncluded()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the child lists /proc/self/fd (Windows: ChildProcessTests' probe covers passing by value)");
        using Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        using (read)
        using (write)
        {
            int socketNumber = (int)socket.SafeHandle.DangerousGetHandle();
            Dictionary<int, string> held = Listing(new ChildProcessOptions
            {
                InheritedHandles = [socket.SafeHandle],
                InheritedHandlesByNumber = new Dictionary<int, SafeHandle> { [3] = read },
            });
            Assert.StartsWith("socket:", held[socketNumber]);
            Assert.StartsWith("pipe:", held[3]);
            Assert.Equal(new[] { 0, 1, 2, 3, socketNumber }.Order(), held.Keys.Order());
            Assert.False(Inheritance.IsInheritable(socket.SafeHandle));
        }
    }

    [Fact]
    public void StandardHandles_AnyHandle_SocketsIncluded()
    {
        using var listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var ours = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        ours.Connect(listener.LocalEndPoint!);
        using Socket theirs = NoInheritSocket.Accept(listener);
        using var dir = new TempDirectory();
        string inputFile = dir.Combine("in.txt");
        File.WriteAllText(inputFile, "from a file\n");
        using SafeFileHandle input = NoInheritFile.OpenHandle(inputFile);
        using SafeFileHandle nul = NoInheritFile.OpenNullHandle();
        // The child copies its standard input to its standard output, which is a socket here.
        ProcessStartInfo start = Windows ? new ProcessStartInfo("cmd.exe", "/d /c more") : new ProcessStartInfo("/bin/cat");
        using ChildProcess child = ChildProcess.Start(start, new ChildProcessOptions
        {
            StandardInputHandle = input, StandardOutputHandle = theirs.SafeHandle, StandardErrorHandle = nul,
        });
        Assert.Equal(0, child.WaitForExitStatus().ExitCode);
        theirs.Shutdown(SocketShutdown.Send);
        var received = new byte[256];
        int total = 0, n;
        ours.ReceiveTimeout = 30_000;
        while ((n = ours.Receive(received, total, received.Length - total, SocketFlags.None)) > 0)
            total += n;
        Assert.Equal("from a file", Encoding.ASCII.GetString(received, 0, total).Trim());
    }

    [Fact]
    public void StandardHandles_WithTheirRedirectProperty_OrTwice_AreRefused()
    {
        using SafeFileHandle nul = NoInheritFile.OpenNullHandle();
        ProcessStartInfo start = OutAndErr();
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => ChildProcess.Start(start, new ChildProcessOptions { StandardOutputHandle = nul }));
        Assert.Equal("The StandardInputHandle, StandardOutputHandle, and StandardErrorHandle properties cannot be used together with the corresponding " +
                     "RedirectStandardInput, RedirectStandardOutput, and RedirectStandardError properties.", e.Message);
        Assert.Equal("InheritedHandles[1]", Assert.Throws<ArgumentNullException>(() => ChildProcess.Start(Exit(0), new ChildProcessOptions { InheritedHandles = [nul, null!] })).ParamName);
        Assert.Throws<ArgumentException>(() => ChildProcess.Start(Exit(0), new ChildProcessOptions { InheritedHandlesByNumber = new Dictionary<int, SafeHandle> { [-3] = nul } }));
        Assert.Throws<ArgumentException>(() => ChildProcess.Start(Exit(0), new ChildProcessOptions
        {
            StandardOutputHandle = nul, InheritedHandlesByNumber = new Dictionary<int, SafeHandle> { [1] = nul },
        }));
        Assert.Throws<ArgumentNullException>(() => ChildProcess.Start(Exit(0), (ChildProcessOptions)null!));
        if (Net11.Available)
        {
            var net11 = OutAndErr();
            Net11.Set(net11, "StandardOutputHandle", nul);
            Assert.Equal(e.Message, Assert.Throws<InvalidOperationException>(() => Process.Start(net11)).Message);
        }
    }

    [Fact]
    public void CreateNewProcessGroup_TheChildLeadsAGroup_OrIsRefusedByName()
    {
        if (Windows)
        {
            // CREATE_NEW_PROCESS_GROUP: nothing outside the child shows its group (the C tests see its console events); the
            // job that comes with it does: ChildProcessTreeTests.KillTrue_OnWindows_ReachesAnOrphan_OnlyThroughTheJob.
            using ChildProcess windowsChild = ChildProcess.Start(Exit(7), new ChildProcessOptions { CreateNewProcessGroup = true });
            Assert.Equal(7, windowsChild.WaitForExitStatus().ExitCode);
            return;
        }
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the group is read from /proc");
        using ChildProcess child = ChildProcess.Start(SleeperStartInfo(), new ChildProcessOptions { CreateNewProcessGroup = true });
        try
        {
            string[] stat = ChildPrograms.StatFields(child.Id);
            Assert.Equal(child.Id.ToString(), stat[4]); // pgrp
            Assert.NotEqual(child.Id.ToString(), stat[5]); // session: ours
        }
        finally
        {
            child.Kill();
        }
    }

    [Fact]
    public void StartDetached_TheChildLeadsASession_WithTheNullDeviceForItsStreams()
    {
        if (Windows)
        {
            using ChildProcess windowsChild = ChildProcess.Start(Exit(7), new ChildProcessOptions { StartDetached = true });
            Assert.Equal(7, windowsChild.WaitForExitStatus().ExitCode);
            return;
        }
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the session is read from /proc");
        using var dir = new TempDirectory();
        string report = dir.Combine("fds");
        using ChildProcess child = ChildProcess.Start(Shell($"printf '%s\\n' \"$(readlink /proc/$$/fd/0)\" \"$(readlink /proc/$$/fd/1)\" \"$(readlink /proc/$$/fd/2)\" > '{report}'; exec sleep 30", ""),
            new ChildProcessOptions { StartDetached = true });
        try
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(report) || File.ReadAllLines(report).Length < 3)
            {
                Assert.True(clock.ElapsedMilliseconds < 30_000, "the detached child did not report");
                Thread.Sleep(20);
            }
            string[] stat = ChildPrograms.StatFields(child.Id);
            Assert.Equal(child.Id.ToString(), stat[5]); // it leads a session
            Assert.Equal("0", stat[6]); // with no controlling terminal
            Assert.Equal("/dev/null,/dev/null,/dev/null", string.Join(",", File.ReadAllLines(report)));
        }
        finally
        {
            child.Kill();
        }
        Assert.Throws<InvalidOperationException>(() => ChildProcess.Start(Exit(0), new ChildProcessOptions { StartDetached = true, KillOnParentExit = true }));
    }

    /// <summary>
    /// KillOnParentExit: a parent (the test program as a child, role "kill-on-parent-exit") starts a sleeper with the
    /// option, prints its pid and exits; the sleeper must go with it.
    /// </summary>
    [Fact]
    public void KillOnParentExit_TheChildGoesWithItsParent()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || Windows, "Linux's parent-death signal or a Windows job");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the parent is the test program itself, which qemu-user cannot exec");
        ProcessStartInfo parent = Self.WithRole("kill-on-parent-exit");
        using ChildProcess child = ChildProcess.Start(parent);
        string output = child.StandardOutput.ReadToEnd();
        Assert.Equal(0, child.WaitForExitStatus().ExitCode);
        int sleeper = int.Parse(output.Trim());
        Assert.True(GoneWithin(sleeper, 5000), $"the child {sleeper} outlived its parent");
    }

    /// <summary>
    /// KillOnParentExit that holds, on Linux where the parent-death signal fires when the *thread* that created the child
    /// ends: a child started from a thread that then ends lives on (this test process is its parent).
    /// </summary>
    [Fact]
    public void KillOnParentExit_TheChildOutlivesTheThreadThatStartedIt()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || Windows, "Linux's parent-death signal or a Windows job");
        ChildProcess? child = null;
        var starter = new Thread(() => child = ChildProcess.Start(SleeperStartInfo(), new ChildProcessOptions { KillOnParentExit = true }));
        starter.Start();
        starter.Join();
        using (child)
        {
            Thread.Sleep(500);
            Assert.False(child!.HasExited, "the child went with the thread that started it");
            child.Kill();
        }
    }

    /// <summary>
    /// The parent (the test program, role "kill-on-parent-exit") is killed (SIGKILL; TerminateProcess on Windows): its
    /// KillOnParentExit child goes within a second.
    /// </summary>
    [Fact]
    public void KillOnParentExit_TheChildGoesWithAKilledParent_WithinASecond()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() || Windows, "Linux's parent-death signal or a Windows job");
        Assert.SkipWhen(QemuUser.CannotExecOwnArchitecture, "the parent is the test program itself, which qemu-user cannot exec");
        ProcessStartInfo start = Self.WithRole("kill-on-parent-exit");
        start.Environment["NI_PARENT_STAYS"] = "1";
        using ChildProcess parent = ChildProcess.Start(start);
        int sleeper = int.Parse(parent.StandardOutput.ReadLine()!.Trim());
        try
        {
            Assert.False(IsGone(sleeper));
            parent.Kill();
            parent.WaitForExit();
            Assert.True(GoneWithin(sleeper, 1000), $"the child {sleeper} outlived its killed parent by more than a second");
        }
        finally
        {
            if (!IsGone(sleeper))
                Process.GetProcessById(sleeper).Kill();
        }
    }

    [Fact]
    public void OpenNullHandle_ReadsNothing_TakesEverything_AndIsNotInheritable()
    {
        using SafeFileHandle handle = NoInheritFile.OpenNullHandle();
        Assert.False(Inheritance.IsInheritable(handle));
        using var stream = new FileStream(handle, FileAccess.ReadWrite, 1, false);
        stream.Write("discarded"u8);
        Assert.Equal(0, stream.Read(new byte[16]));
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal("/dev/null", new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget);
            if (Net11.Available)
            {
                using var theirs = (SafeFileHandle)Net11.Call(typeof(File), null, "OpenNullHandle", [])!;
                Assert.Equal(Observe.DescriptorFlags(theirs), Observe.DescriptorFlags(handle)); // O_RDWR | O_CLOEXEC, as .NET 11's
            }
        }
    }
}
