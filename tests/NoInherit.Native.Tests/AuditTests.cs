using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>Inheritance.Audit and Inheritance.Seal, checked against what the process holds and what a real child inherits.</summary>
[Collection(nameof(SealCollection))]
public class AuditTests
{
    [Fact]
    public void Audit_ListsInheritableHandles_WithKindAndTarget_AndNotOurs()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string inheritablePath = dir.Combine("inheritable"), oursPath = dir.Combine("ours");
        using SafeFileHandle inheritable = File.OpenHandle(inheritablePath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Inheritable);
        using SafeFileHandle ours = NoInheritFile.OpenHandle(oursPath, FileMode.Create, FileAccess.Write);
        using Socket listener = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        Inheritance.SetInheritable(listener.SafeHandle, true);
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        using (read)
        using (write)
        {
            Inheritance.SetInheritable(read, true);
            IReadOnlyList<InheritableHandle> audit = Inheritance.Audit();

            InheritableHandle file = Assert.Single(audit, h => h.Handle == inheritable.DangerousGetHandle());
            Assert.Equal(HandleKind.RegularFile, file.Kind);
            Assert.Equal(inheritablePath, file.Target);
            Assert.Contains("FD_CLOEXEC", file.Reason);
            InheritableHandle socket = Assert.Single(audit, h => h.Handle == listener.SafeHandle.DangerousGetHandle());
            Assert.Equal(HandleKind.Socket, socket.Kind);
            Assert.Equal($"inet stream 127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}", socket.Target);
            InheritableHandle pipe = Assert.Single(audit, h => h.Handle == read.DangerousGetHandle());
            Assert.Equal(HandleKind.Pipe, pipe.Kind);
            Assert.Equal(ChildProcessProbe.TargetOf(read), pipe.Target);
            Assert.DoesNotContain(audit, h => h.Handle == ours.DangerousGetHandle() || h.Handle == write.DangerousGetHandle());
            Assert.Equal(audit.OrderBy(h => h.Handle).Select(h => h.Handle), audit.Select(h => h.Handle));

            // What the audit says matches what a child started now really holds.
            HashSet<string> child = ChildProcessProbe.TargetsHeldByNewChild();
            Assert.Contains(inheritablePath, child);
            Assert.Contains(ChildProcessProbe.TargetOf(read), child);
            Assert.DoesNotContain(oursPath, child);
        }
    }

    [Fact]
    public void AuditOfAnotherProcess_ReadsItsFdAndFdinfo()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string inheritablePath = dir.Combine("passed-on"), oursPath = dir.Combine("kept-back");
        using SafeFileHandle inheritable = File.OpenHandle(inheritablePath, FileMode.Create, FileAccess.Write, FileShare.Read | FileShare.Inheritable);
        using SafeFileHandle ours = NoInheritFile.OpenHandle(oursPath, FileMode.Create, FileAccess.Write);
        using Socket listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        Inheritance.SetInheritable(listener.SafeHandle, true);
        using Process child = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            IReadOnlyList<InheritableHandle> audit = Inheritance.Audit(child.Id);
            InheritableHandle file = Assert.Single(audit, h => h.Target == inheritablePath);
            Assert.Equal(HandleKind.RegularFile, file.Kind);
            Assert.Equal((long)inheritable.DangerousGetHandle(), file.Handle);
            InheritableHandle socket = Assert.Single(audit, h => h.Handle == listener.SafeHandle.DangerousGetHandle());
            Assert.Equal(HandleKind.Socket, socket.Kind);
            Assert.StartsWith($"tcp 127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port} (listening) socket:[", socket.Target);
            Assert.DoesNotContain(audit, h => h.Target == oursPath);
        }
        finally
        {
            child.Kill();
            child.WaitForExit();
        }
        Assert.Throws<ArgumentException>(() => Inheritance.Audit(int.MaxValue));
    }

    [Fact]
    public void Seal_MakesEverythingButStdioAndKeptNonInheritable_WithoutClosing()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string sealedPath = dir.Combine("sealed"), keptPath = dir.Combine("kept");
        using SafeFileHandle sealedHandle = File.OpenHandle(sealedPath, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Inheritable);
        using SafeFileHandle kept = File.OpenHandle(keptPath, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Inheritable);
        HashSet<string> before = ChildProcessProbe.TargetsHeldByNewChild();
        Assert.Contains(sealedPath, before);
        Assert.Contains(keptPath, before);

        int changed = Inheritance.Seal((int)kept.DangerousGetHandle());

        Assert.True(changed >= 1, $"changed {changed}");
        Assert.False(Inheritance.IsInheritable(sealedHandle));
        Assert.True(Inheritance.IsInheritable(kept));
        HashSet<string> after = ChildProcessProbe.TargetsHeldByNewChild();
        Assert.DoesNotContain(sealedPath, after);
        Assert.Contains(keptPath, after);
        Assert.DoesNotContain(Inheritance.Audit(), h => h.Handle > 2 && h.Handle != kept.DangerousGetHandle());
        RandomAccess.Write(sealedHandle, "still open"u8, 0); // sealed, not closed

        Assert.Equal(0, Inheritance.Seal((int)kept.DangerousGetHandle()));
        Assert.Equal(1, Inheritance.Seal());
        Assert.DoesNotContain(keptPath, ChildProcessProbe.TargetsHeldByNewChild());
        Assert.Throws<ArgumentNullException>(() => Inheritance.Seal(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => Inheritance.Seal(-1));
    }
}

/// <summary>Seal changes the whole process: no other test may make inheritable controls meanwhile.</summary>
[CollectionDefinition(nameof(SealCollection), DisableParallelization = true)]
public sealed class SealCollection;
