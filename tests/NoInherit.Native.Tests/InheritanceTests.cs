using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The library's one promise beyond the BCL: what it creates is not inherited by a child process. Every test
/// starts real children and checks, in the same run, a negative control that the child does inherit.
/// </summary>
[Collection(nameof(ChildProbeCollection))]
public class InheritanceTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Creators => new()
    {
        "OpenHandle", "Open(path, mode)", "Open(path, FileStreamOptions)", "Socket.Create", "Accept", "AcceptAsync",
        "CreateAnonymousPipe", "Duplicate",
    };

    /// <summary>Handles made by one of the library's creators, with whatever must stay alive beside them.</summary>
    private sealed class Created : IDisposable
    {
        public required SafeHandle[] Handles { get; init; }
        public List<IDisposable> Owners { get; } = new();

        public void Dispose()
        {
            foreach (SafeHandle handle in Handles)
                handle.Dispose();
            foreach (IDisposable owner in Owners)
                owner.Dispose();
        }
    }

    private static async Task<Created> CreateAsync(string creator, TempDirectory dir, string name)
    {
        switch (creator)
        {
            case "OpenHandle":
                return new Created { Handles = [NoInheritFile.OpenHandle(dir.Combine(name), FileMode.Create, FileAccess.ReadWrite)] };
            case "Open(path, mode)":
            {
                FileStream stream = NoInheritFile.Open(dir.Combine(name), FileMode.Create);
                return new Created { Handles = [stream.SafeFileHandle], Owners = { stream } };
            }
            case "Open(path, FileStreamOptions)":
            {
                FileStream stream = NoInheritFile.Open(dir.Combine(name),
                    new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.ReadWrite, BufferSize = 0 });
                return new Created { Handles = [stream.SafeFileHandle], Owners = { stream } };
            }
            case "Socket.Create":
            {
                Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                return new Created { Handles = [socket.SafeHandle], Owners = { socket } };
            }
            case "Accept":
            case "AcceptAsync":
            {
                var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                listener.Listen();
                var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                Socket accepted;
                if (creator == "Accept")
                {
                    client.Connect(listener.LocalEndPoint!);
                    accepted = NoInheritSocket.Accept(listener);
                }
                else
                {
                    // Waiting first, so that the accept happens on the library's waiting path.
                    ValueTask<Socket> pending = NoInheritSocket.AcceptAsync(listener);
                    await client.ConnectAsync(listener.LocalEndPoint!);
                    accepted = await pending.AsTask().WaitAsync(HangGuard);
                }
                Assert.Equal(client.LocalEndPoint, accepted.RemoteEndPoint);
                return new Created { Handles = [accepted.SafeHandle], Owners = { accepted, client, listener } };
            }
            case "CreateAnonymousPipe":
            {
                NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
                return new Created { Handles = [read, write] };
            }
            case "Duplicate":
            {
                SafeFileHandle source = NoInheritFile.OpenHandle(dir.Combine(name), FileMode.Create, FileAccess.ReadWrite);
                SafeFileHandle duplicate = NoInheritFile.Duplicate(source);
                return new Created { Handles = [duplicate, source] };
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(creator), creator, null);
        }
    }

    private static SafeFileHandle BclInheritableControl(TempDirectory dir) =>
        File.OpenHandle(dir.Combine("bcl-inheritable-control"), FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Inheritable);

    [Theory]
    [MemberData(nameof(Creators))]
    public async Task Created_IsNotInheritedByChild_WhileControlsAre(string creator)
    {
        ChildProcessProbe.SkipUnlessCanProbeHandles();
        using var dir = new TempDirectory();
        using Created ours = await CreateAsync(creator, dir, "ours");
        // Controls: the same kind of descriptor made inheritable on purpose, and a BCL handle asked to be inheritable.
        using Created control = await CreateAsync(creator, dir, "control");
        Inheritance.SetInheritable(control.Handles[0], true);
        using SafeFileHandle bclControl = BclInheritableControl(dir);

        foreach (SafeHandle handle in ours.Handles)
            Assert.False(Inheritance.IsInheritable(handle), $"{creator} made an inheritable handle");
        Assert.True(Inheritance.IsInheritable(control.Handles[0]));
        Assert.True(Inheritance.IsInheritable(bclControl));

        ChildProcessProbe.AssertChildHolds(ours.Handles, [control.Handles[0], bclControl]);
    }

    [Fact]
    public void OpenHandle_WithInheritableShare_IsInheritedByChild()
    {
        ChildProcessProbe.SkipUnlessCanProbeHandles();
        using var dir = new TempDirectory();
        using SafeFileHandle requested = NoInheritFile.OpenHandle(dir.Combine("requested"), FileMode.Create, FileAccess.ReadWrite,
            FileShare.Read | FileShare.Inheritable);
        using SafeFileHandle requestedAlone = NoInheritFile.OpenHandle(dir.Combine("requested-alone"), FileMode.CreateNew, FileAccess.Write,
            FileShare.Inheritable);
        using FileStream requestedStream = NoInheritFile.Open(dir.Combine("requested-stream"), FileMode.OpenOrCreate, FileAccess.ReadWrite,
            FileShare.ReadWrite | FileShare.Inheritable);
        using SafeFileHandle plain = NoInheritFile.OpenHandle(dir.Combine("plain"), FileMode.Create, FileAccess.ReadWrite, FileShare.ReadWrite);

        Assert.True(Inheritance.IsInheritable(requested));
        Assert.True(Inheritance.IsInheritable(requestedAlone));
        Assert.True(Inheritance.IsInheritable(requestedStream.SafeFileHandle));
        Assert.False(Inheritance.IsInheritable(plain));
        ChildProcessProbe.AssertChildHolds([plain], [requested, requestedAlone, requestedStream.SafeFileHandle]);
    }

    public static TheoryData<string> FlippableKinds => new() { "file", "socket", "pipe", "accepted" };

    [Theory]
    [MemberData(nameof(FlippableKinds))]
    public async Task SetInheritable_TrueThenFalse_FlipsWhatAChildHolds(string kind)
    {
        ChildProcessProbe.SkipUnlessCanProbeHandles();
        using var dir = new TempDirectory();
        string creator = kind switch
        {
            "file" => "OpenHandle",
            "socket" => "Socket.Create",
            "pipe" => "CreateAnonymousPipe",
            _ => "Accept",
        };
        using Created ours = await CreateAsync(creator, dir, "flip");
        SafeHandle handle = ours.Handles[0];
        using SafeFileHandle control = BclInheritableControl(dir);

        Assert.False(Inheritance.IsInheritable(handle));
        ChildProcessProbe.AssertChildHolds([handle], [control]);

        Inheritance.SetInheritable(handle, true);
        Assert.True(Inheritance.IsInheritable(handle));
        Assert.True(ChildProcessProbe.HeldByNewChild(handle)[0], $"the child did not inherit {ChildProcessProbe.TargetOf(handle)} once it was inheritable");

        Inheritance.SetInheritable(handle, false);
        Assert.False(Inheritance.IsInheritable(handle));
        ChildProcessProbe.AssertChildHolds([handle], [control]);

        // Idempotent both ways.
        Inheritance.SetInheritable(handle, false);
        Assert.False(Inheritance.IsInheritable(handle));
        Inheritance.SetInheritable(handle, true);
        Inheritance.SetInheritable(handle, true);
        Assert.True(Inheritance.IsInheritable(handle));
    }

    [Fact]
    public void Duplicate_OfAnInheritableHandle_IsNotInherited()
    {
        ChildProcessProbe.SkipUnlessCanProbeHandles();
        using var dir = new TempDirectory();
        using SafeFileHandle inheritable = BclInheritableControl(dir);
        using SafeFileHandle duplicate = NoInheritFile.Duplicate(inheritable);
        Assert.True(Inheritance.IsInheritable(inheritable));
        Assert.False(Inheritance.IsInheritable(duplicate));

        // Both name the same file, so this is told apart by descriptor number.
        int original = (int)inheritable.DangerousGetHandle(), copy = (int)duplicate.DangerousGetHandle();
        Assert.NotEqual(original, copy);
        string target = ChildProcessProbe.TargetOf(inheritable);
        Assert.Equal(target, ChildProcessProbe.TargetOf(duplicate));
        bool[] held = ChildProcessProbe.HeldByNewChild(inheritable, duplicate);
        Assert.True(held[0], "negative control missing: the inheritable original");
        Assert.False(held[1], $"the child inherited the duplicate (fd {copy})");
    }

    /// <summary>The copy's temp file as /proc shows it: an O_TMPFILE ("dir/#inode (deleted)") or a named ".ni-copy-*.tmp".</summary>
    private static bool IsCopyTemp(TempDirectory dir, string target) =>
        target.StartsWith(dir.FullPath + "/#", StringComparison.Ordinal) || target.StartsWith(dir.FullPath + "/.ni-copy-", StringComparison.Ordinal);

    [Fact]
    public async Task Copy_LeavesNoDescriptor_AndAChildStartedMidCopyHoldsNeitherFile()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        // A FIFO source holds the copy open, with both files open, until we write and close the other end:
        // a child started in that window is started while the copy's descriptors exist.
        string source = dir.Combine("source.fifo"), destination = dir.Combine("destination");
        Libc.MakeFifo(source);
        using SafeFileHandle control = BclInheritableControl(dir);

        Task copy = Task.Factory.StartNew(() => NoInheritFile.Copy(source, destination), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
        using (var writer = new FileStream(source, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1))
        {
            // The copy writes to a temp file in the destination's directory, created after the source is open: once this
            // process holds the temp, the copy is in flight with both open (and blocked reading the FIFO until we write).
            string sourceTarget = Path.GetFullPath(source), destinationTarget = Path.GetFullPath(destination);
            string? temp = null;
            SpinWait.SpinUntil(() => (temp = Observe.OwnDescriptorTargets().FirstOrDefault(t => IsCopyTemp(dir, t))) is not null || copy.IsCompleted, HangGuard);
            Assert.False(copy.IsCompleted, $"the copy ended early: {copy.Exception}");
            Assert.NotNull(temp);
            HashSet<string> child = ChildProcessProbe.TargetsHeldByNewChild();
            Assert.Contains(ChildProcessProbe.TargetOf(control), child);
            Assert.DoesNotContain(temp, child);
            Assert.DoesNotContain(destinationTarget, child);
            Assert.DoesNotContain(sourceTarget, child);

            writer.Write("copied through a fifo"u8);
        }
        await copy.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        Assert.Equal("copied through a fifo", File.ReadAllText(destination));
        Observe.AssertNoDescriptorOn(dir.FullPath + "/source.fifo");
        Observe.AssertNoDescriptorOn(dir.FullPath + "/destination");
    }

    [Fact]
    public async Task Copy_Repeated_NoChildStartedMeanwhileHoldsEitherFile()
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, new byte[4 << 20]);
        using SafeFileHandle control = BclInheritableControl(dir);
        string controlTarget = ChildProcessProbe.TargetOf(control);

        using var stop = new CancellationTokenSource();
        int copies = 0;
        Task copier = Task.Factory.StartNew(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                NoInheritFile.Copy(source, destination, overwrite: true);
                Interlocked.Increment(ref copies);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            for (int i = 0; i < 15; i++)
            {
                HashSet<string> child = ChildProcessProbe.TargetsHeldByNewChild();
                Assert.Contains(controlTarget, child);
                Assert.DoesNotContain(Path.GetFullPath(source), child);
                Assert.DoesNotContain(Path.GetFullPath(destination), child);
                Assert.DoesNotContain(Path.GetFullPath(destination) + " (deleted)", child);
                Assert.DoesNotContain(child, t => IsCopyTemp(dir, t));
            }
        }
        finally
        {
            stop.Cancel();
            await copier.WaitAsync(HangGuard, TestContext.Current.CancellationToken);
        }
        Assert.True(Volatile.Read(ref copies) > 0);
        Assert.Equal(4 << 20, new FileInfo(destination).Length);
        Observe.AssertNoDescriptorOn(Path.GetFullPath(source));
        Observe.AssertNoDescriptorOn(Path.GetFullPath(destination));
    }

    [Fact]
    public void IsInheritable_ReportsFalseForEveryCreation_AndTrueForControls()
    {
        using var dir = new TempDirectory();
        using SafeFileHandle handle = NoInheritFile.OpenHandle(dir.Combine("a"), FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        using FileStream stream = NoInheritFile.Open(dir.Combine("b"), FileMode.Create);
        using Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        using (read)
        using (write)
        using (SafeFileHandle duplicate = NoInheritFile.Duplicate(handle))
        using (SafeFileHandle bclInheritable = BclInheritableControl(dir))
        using (SafeFileHandle oursInheritable = NoInheritFile.OpenHandle(dir.Combine("c"), FileMode.Create, FileAccess.Write, FileShare.Inheritable))
        {
            foreach (SafeHandle ours in new SafeHandle[] { handle, stream.SafeFileHandle, socket.SafeHandle, read, write, duplicate })
                Assert.False(Inheritance.IsInheritable(ours));
            Assert.True(Inheritance.IsInheritable(bclInheritable));
            Assert.True(Inheritance.IsInheritable(oursInheritable));
        }
    }

    [Fact]
    public void SetInheritable_AndIsInheritable_AllocateNothing()
    {
        // Code that passes a handle the old way flips it around every child it starts: no garbage per call.
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        using (read)
        using (write)
        {
            void RoundTrips(int count)
            {
                for (int i = 0; i < count; i++)
                {
                    Inheritance.SetInheritable(read, true);
                    Assert.True(Inheritance.IsInheritable(read));
                    Inheritance.SetInheritable(read, false);
                    Assert.False(Inheritance.IsInheritable(read));
                }
            }
            RoundTrips(3); // the first calls create the cached delegates
            long before = GC.GetAllocatedBytesForCurrentThread();
            RoundTrips(100);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
    }

    [Fact]
    public void CreateAnonymousPipe_CarriesData_AndEndOfFileAfterWriterCloses()
    {
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        Assert.False(read.IsInvalid);
        Assert.False(write.IsInvalid);
        Assert.NotEqual(read.DangerousGetHandle(), write.DangerousGetHandle());
        using var reader = new FileStream(read, FileAccess.Read, 1);
        using (var writer = new FileStream(write, FileAccess.Write, 1))
        {
            Assert.False(writer.CanSeek);
            writer.Write("through the pipe"u8);
        }
        Assert.True(write.IsClosed);
        using var text = new StreamReader(reader, Encoding.UTF8);
        Assert.Equal("through the pipe", text.ReadToEnd());
    }

    [Fact]
    public void Duplicate_IsTheSameOpenPipe_AndOutlivesTheOriginal()
    {
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        using SafeFileHandle duplicate = NoInheritFile.Duplicate(write);
        Assert.NotEqual(write.DangerousGetHandle(), duplicate.DangerousGetHandle());
        write.Dispose();
        using var reader = new FileStream(read, FileAccess.Read, 1);
        // The original write end is closed; the duplicate still writes into the same pipe...
        using (var writer = new FileStream(duplicate, FileAccess.Write, 1))
            writer.Write("via the duplicate"u8);
        // ...and once it is closed too, the reader sees the end of the pipe.
        using var text = new StreamReader(reader, Encoding.UTF8);
        Assert.Equal("via the duplicate", text.ReadToEnd());
    }

    [Fact]
    public void Duplicate_OfAFile_SharesItsOffsetAndContent()
    {
        using var dir = new TempDirectory();
        string path = dir.Combine("dup");
        File.WriteAllText(path, "0123456789");
        using SafeFileHandle original = NoInheritFile.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        using SafeFileHandle duplicate = NoInheritFile.Duplicate(original);
        using (var first = new FileStream(original, FileAccess.ReadWrite, 1))
        {
            first.Seek(4, SeekOrigin.Begin);
            // Exposing the handle moves the descriptor's own offset to the stream's position.
            Assert.Same(original, first.SafeFileHandle);
            // A stream made on the duplicate starts at the descriptor's offset: one open file description.
            using var second = new FileStream(duplicate, FileAccess.ReadWrite, 1);
            Assert.Equal(4, second.Position);
            second.Write("ab"u8);
        }
        Assert.Equal("0123ab6789", File.ReadAllText(path));
    }

    /// <summary>Disposing a handle releases its FileShare lock, even while a duplicate is open, as with the BCL's handles.</summary>
    [Fact]
    public void Duplicate_DisposingTheOriginal_ReleasesTheLockAsTheBclDoes()
    {
        using var dir = new TempDirectory();
        string path = dir.Combine("locked");
        File.WriteAllText(path, "x");
        string Probe(Func<SafeFileHandle> open)
        {
            SafeFileHandle original = open();
            using SafeFileHandle duplicate = NoInheritFile.Duplicate(original);
            string whileOpen = Outcome.Of(() => File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.None).Dispose());
            original.Dispose();
            string afterDispose = Outcome.Of(() => File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.None).Dispose());
            return $"while open: {whileOpen}\nafter dispose: {afterDispose}";
        }
        string expected = Probe(() => File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None));
        string actual = Probe(() => NoInheritFile.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None));
        Assert.Contains("IOException", expected.Split('\n')[0]); // the lock was there to release
        Outcome.AssertSame(expected, actual);
    }

    [Fact]
    public void Capabilities_OnLinux_AllFiveAreAtomic()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Every creation is atomic only on Linux (accept4, pipe2, F_DUPFD_CLOEXEC, SOCK_CLOEXEC, O_CLOEXEC).");
        const NoInheritCapabilities all = NoInheritCapabilities.OpenAtomic | NoInheritCapabilities.SocketAtomic
            | NoInheritCapabilities.AcceptAtomic | NoInheritCapabilities.PipeAtomic | NoInheritCapabilities.DuplicateAtomic;
        Assert.Equal(all, Inheritance.Capabilities);
    }

    [Fact]
    public void NativeVersion_IsMajorMinorPatch()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", Inheritance.NativeVersion);
    }
}
