using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>Arguments the library must refuse, with the exception (type, message, ParamName) the BCL gives, and no side effect.</summary>
public class BadInputTests
{
    /// <summary>Each file entry point beside its BCL counterpart, as (name, BCL call, library call) on one path argument.</summary>
    public static TheoryData<string> PathEntryPoints() => new()
    {
        "OpenHandle", "Open(mode)", "Open(mode, access)", "Open(mode, access, share)", "Open(FileStreamOptions)",
        "Copy(source)", "Copy(destination)",
    };

    private static (Action Bcl, Action Ours) Calls(string entryPoint, string? path, string other) => entryPoint switch
    {
        "OpenHandle" => (() => File.OpenHandle(path!, FileMode.Create, FileAccess.ReadWrite).Dispose(),
                         () => NoInheritFile.OpenHandle(path!, FileMode.Create, FileAccess.ReadWrite).Dispose()),
        "Open(mode)" => (() => File.Open(path!, FileMode.OpenOrCreate).Dispose(), () => NoInheritFile.Open(path!, FileMode.OpenOrCreate).Dispose()),
        "Open(mode, access)" => (() => File.Open(path!, FileMode.Create, FileAccess.Write).Dispose(),
                                 () => NoInheritFile.Open(path!, FileMode.Create, FileAccess.Write).Dispose()),
        "Open(mode, access, share)" => (() => File.Open(path!, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose(),
                                        () => NoInheritFile.Open(path!, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose()),
        "Open(FileStreamOptions)" => (() => File.Open(path!, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write }).Dispose(),
                                      () => NoInheritFile.Open(path!, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write }).Dispose()),
        "Copy(source)" => (() => File.Copy(path!, other), () => NoInheritFile.Copy(path!, other)),
        "Copy(destination)" => (() => File.Copy(other, path!, overwrite: true), () => NoInheritFile.Copy(other, path!, overwrite: true)),
        _ => throw new ArgumentOutOfRangeException(nameof(entryPoint), entryPoint, null),
    };

    private static void AssertSameRefusal(string entryPoint, Func<TempDirectory, string?> path, Type expectedType)
    {
        using var dir = new TempDirectory();
        string other = dir.Combine("existing");
        File.WriteAllText(other, "existing");
        string? argument = path(dir);
        (Action bcl, Action ours) = Calls(entryPoint, argument, other);
        string expected = Outcome.Of(bcl);
        string actual = Outcome.Of(ours);
        Assert.StartsWith($"threw {expectedType.FullName}:", expected);
        Outcome.AssertSame(expected, actual);
        // Nothing was created, and nothing stays open.
        Assert.Equal(["existing"], Directory.EnumerateFileSystemEntries(dir.FullPath).Select(Path.GetFileName));
        Observe.AssertNoDescriptorOn(dir.FullPath);
    }

    [Theory]
    [MemberData(nameof(PathEntryPoints))]
    public void NullPath_ThrowsArgumentNullException_AsTheBcl(string entryPoint) =>
        AssertSameRefusal(entryPoint, _ => null, typeof(ArgumentNullException));

    [Theory]
    [MemberData(nameof(PathEntryPoints))]
    public void EmptyPath_ThrowsArgumentException_AsTheBcl(string entryPoint) =>
        AssertSameRefusal(entryPoint, _ => "", typeof(ArgumentException));

    /// <summary>A NUL would cut the path short in C: "dir/abc\0def" must be refused, never open or create "dir/abc".</summary>
    [Theory]
    [MemberData(nameof(PathEntryPoints))]
    public void PathWithNulCharacter_ThrowsArgumentException_AndCreatesNothing(string entryPoint) =>
        AssertSameRefusal(entryPoint, dir => dir.Combine("abc\0def"), typeof(ArgumentException));

    [Fact]
    public void PathWithNulCharacter_DoesNotOpenTheTruncatedPath()
    {
        using var dir = new TempDirectory();
        string truncated = dir.Combine("abc");
        File.WriteAllText(truncated, "must stay as it is");
        string withNul = truncated + "\0def";
        Assert.Throws<ArgumentException>("path", () => NoInheritFile.OpenHandle(withNul, FileMode.Truncate, FileAccess.Write));
        Assert.Throws<ArgumentException>("path", () => NoInheritFile.Open(withNul, FileMode.Create));
        Assert.Throws<ArgumentException>("path", () => NoInheritFile.Copy(dir.Combine("missing\0"), truncated, overwrite: true));
        Assert.Throws<ArgumentException>("path", () => NoInheritFile.Copy(truncated, withNul, overwrite: true));
        Assert.Equal("must stay as it is", File.ReadAllText(truncated));
        Assert.Single(Directory.EnumerateFileSystemEntries(dir.FullPath));
    }

    [Fact]
    public void NullFileStreamOptions_ThrowsArgumentNullException_AsTheBcl()
    {
        using var dir = new TempDirectory();
        string path = dir.Combine("file");
        string expected = Outcome.Of(() => File.Open(path, (FileStreamOptions)null!).Dispose());
        string actual = Outcome.Of(() => NoInheritFile.Open(path, (FileStreamOptions)null!).Dispose());
        Assert.Contains("ParamName=options", expected);
        Outcome.AssertSame(expected, actual);
        // A null path is reported before null options, as FileStream does.
        Outcome.AssertSame(Outcome.Of(() => File.Open(null!, (FileStreamOptions)null!).Dispose()),
            Outcome.Of(() => NoInheritFile.Open(null!, (FileStreamOptions)null!).Dispose()));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.FullPath));
    }

    public static TheoryData<FileMode, FileAccess, FileShare, FileOptions, long> UndefinedEnumValues() => new()
    {
        { 0, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, 0 },
        { (FileMode)7, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, 0 },
        { (FileMode)(-1), FileAccess.ReadWrite, FileShare.Read, FileOptions.None, 0 },
        { FileMode.Create, 0, FileShare.Read, FileOptions.None, 0 },
        { FileMode.Create, (FileAccess)4, FileShare.Read, FileOptions.None, 0 },
        { FileMode.Create, FileAccess.ReadWrite, (FileShare)8, FileOptions.None, 0 },
        { FileMode.Create, FileAccess.ReadWrite, (FileShare)(-1), FileOptions.None, 0 },
        { FileMode.Create, FileAccess.ReadWrite, (FileShare)32, FileOptions.None, 0 },
        { FileMode.Create, FileAccess.ReadWrite, FileShare.Read, (FileOptions)1, 0 },
        { FileMode.Create, FileAccess.ReadWrite, FileShare.Read, (FileOptions)(-1), 0 },
        { FileMode.Create, FileAccess.ReadWrite, FileShare.Read, (FileOptions)0x100, 0 },
        { FileMode.Create, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, -1 },
        { (FileMode)7, (FileAccess)4, (FileShare)8, (FileOptions)1, -1 },
        { FileMode.Create, (FileAccess)4, (FileShare)8, FileOptions.None, 0 },
    };

    [Theory]
    [MemberData(nameof(UndefinedEnumValues))]
    public void OpenHandle_UndefinedEnumValue_ThrowsArgumentOutOfRangeException_AsTheBcl(FileMode mode, FileAccess access, FileShare share,
        FileOptions options, long preallocationSize)
    {
        using var dir = new TempDirectory();
        string path = dir.Combine("file");
        string expected = Outcome.Of(() => File.OpenHandle(path, mode, access, share, options, preallocationSize).Dispose());
        string actual = Outcome.Of(() => NoInheritFile.OpenHandle(path, mode, access, share, options, preallocationSize).Dispose());
        Assert.StartsWith("threw System.ArgumentOutOfRangeException:", expected);
        Outcome.AssertSame(expected, actual);
        if (options == FileOptions.None && preallocationSize == 0)
        {
            Outcome.AssertSame(Outcome.Of(() => File.Open(path, mode, access, share).Dispose()),
                Outcome.Of(() => NoInheritFile.Open(path, mode, access, share).Dispose()));
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.FullPath));
    }

    [Fact]
    public void OpenHandle_UndefinedEnumValue_NamesTheParameter()
    {
        Assert.Throws<ArgumentOutOfRangeException>("mode", () => NoInheritFile.OpenHandle("x", (FileMode)99));
        Assert.Throws<ArgumentOutOfRangeException>("access", () => NoInheritFile.OpenHandle("x", FileMode.Open, (FileAccess)99));
        Assert.Throws<ArgumentOutOfRangeException>("share", () => NoInheritFile.OpenHandle("x", FileMode.Open, FileAccess.Read, (FileShare)99));
        Assert.Throws<ArgumentOutOfRangeException>("options", () => NoInheritFile.OpenHandle("x", FileMode.Open, FileAccess.Read, FileShare.Read, (FileOptions)99));
        Assert.Throws<ArgumentOutOfRangeException>("preallocationSize", () => NoInheritFile.OpenHandle("x", FileMode.Create, FileAccess.Write, FileShare.Read, FileOptions.None, -5));
    }

    /// <summary>A handle of each kind, already closed.</summary>
    public static TheoryData<string> ClosedHandleKinds() => new() { "file", "stream", "socket", "pipe" };

    private static SafeHandle ClosedHandle(string kind, TempDirectory dir)
    {
        switch (kind)
        {
            case "file":
            {
                SafeFileHandle handle = NoInheritFile.OpenHandle(dir.Combine("closed"), FileMode.Create, FileAccess.Write);
                handle.Dispose();
                return handle;
            }
            case "stream":
            {
                FileStream stream = NoInheritFile.Open(dir.Combine("closed-stream"), FileMode.Create);
                SafeFileHandle handle = stream.SafeFileHandle;
                stream.Dispose();
                return handle;
            }
            case "socket":
            {
                Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                SafeSocketHandle handle = socket.SafeHandle;
                socket.Dispose();
                return handle;
            }
            default:
            {
                NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
                write.Dispose();
                read.Dispose();
                return read;
            }
        }
    }

    [Theory]
    [MemberData(nameof(ClosedHandleKinds))]
    public void ClosedHandle_ThrowsObjectDisposedException(string kind)
    {
        using var dir = new TempDirectory();
        SafeHandle handle = ClosedHandle(kind, dir);
        Assert.True(handle.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => Inheritance.IsInheritable(handle));
        Assert.Throws<ObjectDisposedException>(() => Inheritance.SetInheritable(handle, true));
        Assert.Throws<ObjectDisposedException>(() => Inheritance.SetInheritable(handle, false));
        if (handle is SafeFileHandle fileHandle)
            Assert.Throws<ObjectDisposedException>(() => NoInheritFile.Duplicate(fileHandle));
    }

    [Fact]
    public void NullHandle_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>("handle", () => Inheritance.IsInheritable(null!));
        Assert.Throws<ArgumentNullException>("handle", () => Inheritance.SetInheritable(null!, true));
        Assert.Throws<ArgumentNullException>("handle", () => NoInheritFile.Duplicate(null!));
    }

    public static TheoryData<string> InvalidHandles() => new() { "default", "minus one", "not an open descriptor" };

    private static SafeFileHandle InvalidHandle(string kind) => kind switch
    {
        "default" => new SafeFileHandle(),
        "minus one" => new SafeFileHandle(-1, ownsHandle: true),
        // A number far above any descriptor this process has open: valid as a value, but not open.
        _ => new SafeFileHandle(1 << 20, ownsHandle: false),
    };

    [Theory]
    [MemberData(nameof(InvalidHandles))]
    public void InvalidHandle_ThrowsArgumentException(string kind)
    {
        using SafeFileHandle handle = InvalidHandle(kind);
        Assert.Throws<ArgumentException>("handle", () => Inheritance.IsInheritable(handle));
        Assert.Throws<ArgumentException>("handle", () => Inheritance.SetInheritable(handle, true));
        Assert.Throws<ArgumentException>("handle", () => Inheritance.SetInheritable(handle, false));
        Assert.Throws<ArgumentException>("handle", () => NoInheritFile.Duplicate(handle));
    }

    [Fact]
    public async Task NullListener_ThrowsArgumentNullException()
    {
        Assert.Throws<ArgumentNullException>("listener", () => NoInheritSocket.Accept(null!));
        await Assert.ThrowsAsync<ArgumentNullException>("listener", async () => await NoInheritSocket.AcceptAsync(null!, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DisposedListener_ThrowsObjectDisposedException_AsTheBcl()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen();
        listener.Dispose();
        ObjectDisposedException expected = Assert.Throws<ObjectDisposedException>(() => listener.Accept());
        ObjectDisposedException actual = Assert.Throws<ObjectDisposedException>(() => NoInheritSocket.Accept(listener));
        Assert.Equal(expected.Message, actual.Message);
        Assert.Equal(expected.ObjectName, actual.ObjectName);
        ObjectDisposedException actualAsync = await Assert.ThrowsAsync<ObjectDisposedException>(
            async () => await NoInheritSocket.AcceptAsync(listener, TestContext.Current.CancellationToken));
        Assert.Equal(expected.Message, actualAsync.Message);
    }

    // ---- No permission, although the tests run as root ----

    [DllImport("libc", EntryPoint = "setfsuid")]
    private static extern int SetFsUid(uint uid);

    [DllImport("libc", EntryPoint = "setfsgid")]
    private static extern int SetFsGid(uint gid);

    /// <summary>
    /// Runs <paramref name="action"/> on a thread of its own whose file-system identity is nobody (65534): setfsuid and
    /// setfsgid change the calling thread only and drop CAP_DAC_OVERRIDE with it, so the kernel checks permission bits
    /// there as for an ordinary user while the rest of the process stays root.
    /// </summary>
    private static T AsNobody<T>(Func<T> action)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            uint oldGid = (uint)SetFsGid(65534), oldUid = (uint)SetFsUid(65534);
            try
            {
                if (SetFsUid(65534) != 65534)
                    throw new InvalidOperationException("setfsuid(nobody) did not take effect");
                result = action();
            }
            catch (Exception e)
            {
                failure = e;
            }
            finally
            {
                SetFsUid(oldUid);
                SetFsGid(oldGid);
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
            throw new InvalidOperationException("the nobody thread failed", failure);
        return result;
    }

    /// <summary>
    /// A file only root may read and a directory only root may write: as nobody, opening, creating and copying fail with
    /// UnauthorizedAccessException exactly as the BCL's calls fail on the same thread, and nothing is created.
    /// </summary>
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void NoPermission_OpenAndCopy_ThrowUnauthorizedAccess_AsTheBcl()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the permission check runs a thread as nobody with setfsuid, which is Linux's");
        using var dir = new TempDirectory();
        File.SetUnixFileMode(dir.FullPath, (UnixFileMode)0x1FF); // 0777: nobody may create entries here, not in "closed"
        string secret = dir.Combine("secret"), readable = dir.Combine("readable"), closed = dir.Combine("closed");
        File.WriteAllText(secret, "secret");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(readable, "readable");
        Directory.CreateDirectory(closed);
        File.SetUnixFileMode(closed, (UnixFileMode)0x1ED); // 0755
        string inClosed = Path.Combine(closed, "new");

        var cases = new (string Name, Action Bcl, Action Ours)[]
        {
            ("OpenHandle an unreadable file", () => File.OpenHandle(secret).Dispose(), () => NoInheritFile.OpenHandle(secret).Dispose()),
            ("Open(FileStreamOptions) an unreadable file", () => File.Open(secret, new FileStreamOptions()).Dispose(),
                () => NoInheritFile.Open(secret, new FileStreamOptions()).Dispose()),
            ("Open(mode) in a closed directory", () => File.Open(inClosed, FileMode.Create).Dispose(), () => NoInheritFile.Open(inClosed, FileMode.Create).Dispose()),
            ("Open(mode, access, share) in a closed directory", () => File.Open(inClosed, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose(),
                () => NoInheritFile.Open(inClosed, FileMode.CreateNew, FileAccess.Write, FileShare.None).Dispose()),
            ("Copy from an unreadable file", () => File.Copy(secret, dir.Combine("copy")), () => NoInheritFile.Copy(secret, dir.Combine("copy"))),
            ("Copy into a closed directory", () => File.Copy(readable, inClosed), () => NoInheritFile.Copy(readable, inClosed)),
            ("Copy over an unwritable file", () => File.Copy(readable, secret, overwrite: true), () => NoInheritFile.Copy(readable, secret, overwrite: true)),
        };
        // Control: as root, the first call works, so what fails below fails for want of permission.
        NoInheritFile.OpenHandle(secret).Dispose();
        foreach ((string name, Action bcl, Action ours) in cases)
        {
            (string expected, string actual) = AsNobody(() => (Outcome.Of(bcl), Outcome.Of(ours)));
            Assert.True(expected.StartsWith("threw System.UnauthorizedAccessException:", StringComparison.Ordinal), $"{name}: the BCL did {expected}");
            Outcome.AssertSame(expected, actual);
        }
        Assert.Empty(Directory.EnumerateFileSystemEntries(closed));
        Assert.False(File.Exists(dir.Combine("copy")));
        Assert.Equal("secret", File.ReadAllText(secret));
        Observe.AssertNoDescriptorOn(dir.FullPath);
    }

    [Fact]
    public void CopyAsync_PathWithNulCharacter_ThrowsArgumentException_BeforeATaskExists()
    {
        using var dir = new TempDirectory();
        string existing = dir.Combine("existing");
        File.WriteAllText(existing, "existing");
        CancellationToken token = TestContext.Current.CancellationToken;
        Assert.Throws<ArgumentException>("path", () => { _ = NoInheritFile.CopyAsync(existing + "\0x", dir.Combine("copy"), cancellationToken: token); });
        Assert.Throws<ArgumentException>("path", () => { _ = NoInheritFile.CopyAsync(existing, dir.Combine("copy\0x"), cancellationToken: token); });
        Assert.Equal(["existing"], Directory.EnumerateFileSystemEntries(dir.FullPath).Select(Path.GetFileName));
    }

    // ---- Handles of another kind than the call is named for ----

    /// <summary>
    /// A SafeFileHandle that holds a socket (or a pipe): Duplicate and Inheritance work on what the descriptor is, since a
    /// descriptor is a descriptor; the duplicate is the same socket.
    /// </summary>
    [Fact]
    public void HandleOfAnotherKind_IsDuplicatedAndInspectedAsWhatItIs()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the check reads the duplicate's target in /proc/self/fd");
        using Socket socket = NoInheritSocket.Create(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var asFile = new SafeFileHandle(socket.SafeHandle.DangerousGetHandle(), ownsHandle: false);
        using SafeFileHandle duplicate = NoInheritFile.Duplicate(asFile);
        Assert.Equal(ChildProcessProbe.TargetOf(socket.SafeHandle), ChildProcessProbe.TargetOf(duplicate));
        Assert.StartsWith("socket:[", ChildProcessProbe.TargetOf(duplicate));
        Assert.False(Inheritance.IsInheritable(duplicate));
        Assert.False(Inheritance.IsInheritable(asFile));
    }

    // ---- Audit and Seal ----

    [Fact]
    public void AuditOfNoProcess_ThrowsArgumentException_AndSealRefusesNullOrNegative()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "Audit(processId) reads /proc/<pid>, which only Linux has");
        Assert.Throws<ArgumentException>("processId", () => Inheritance.Audit(-1));
        Assert.Throws<ArgumentException>("processId", () => Inheritance.Audit(int.MaxValue));
        // Both refused before anything is sealed.
        Assert.Throws<ArgumentNullException>("keep", () => Inheritance.Seal(null!));
        Assert.Throws<ArgumentOutOfRangeException>("keep", () => Inheritance.Seal(3, -1));
    }

    // ---- ChildProcess.Start ----

    /// <summary>The bad arguments ChildProcess.Start shares with Process.Start give what Process.Start gives.</summary>
    [Fact]
    public void ChildProcessStart_BadStartInfo_ThrowsAsProcessStart()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "compares with Process.Start on Linux (errno values)");
        using var dir = new TempDirectory();
        static string Start(Func<IDisposable?> start) => Outcome.Of(() => start()?.Dispose());

        Outcome.AssertSame(Start(() => Process.Start((ProcessStartInfo)null!)), Start(() => ChildProcess.Start((ProcessStartInfo)null!)));
        Outcome.AssertSame(Start(() => Process.Start(new ProcessStartInfo(""))), Start(() => ChildProcess.Start(new ProcessStartInfo(""))));
        // A directory as the program: refused before execve, as Process.Start refuses it.
        var directory = new ProcessStartInfo(dir.FullPath);
        Win32Exception bcl = Assert.Throws<Win32Exception>(() => Process.Start(directory));
        Win32Exception ours = Assert.Throws<Win32Exception>(() => ChildProcess.Start(directory));
        Assert.Equal(bcl.NativeErrorCode, ours.NativeErrorCode);
        Assert.Equal(bcl.Message, ours.Message);
        // A working directory that is a file: ENOTDIR.
        string file = dir.Combine("file");
        File.WriteAllText(file, "");
        var fileAsDirectory = new ProcessStartInfo("/bin/true") { WorkingDirectory = file };
        Assert.Equal(Assert.Throws<Win32Exception>(() => Process.Start(fileAsDirectory)).NativeErrorCode,
            Assert.Throws<Win32Exception>(() => ChildProcess.Start(fileAsDirectory)).NativeErrorCode);
    }

    /// <summary>
    /// A NUL in the program name, an argument, the working directory or the environment: C would see only the part before
    /// it ("/bin/sh" of "/bin/sh\0junk"), so Start refuses it with ArgumentException and runs nothing. (Process.Start
    /// passes the strings on cut short, and runs /bin/sh.)
    /// </summary>
    [Fact]
    public void ChildProcessStart_NulCharacter_ThrowsArgumentException_AndRunsNothing()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "the proof runs /bin/sh");
        using var dir = new TempDirectory();
        string marker = dir.Combine("ran");
        ProcessStartInfo Shell(string fileName, string script)
        {
            var start = new ProcessStartInfo(fileName);
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(script);
            return start;
        }
        string touch = $"echo ran > '{marker}'";
        Assert.Throws<ArgumentException>("startInfo", () => ChildProcess.Start(Shell("/bin/sh\0junk", touch)));
        Assert.Throws<ArgumentException>("startInfo", () => ChildProcess.Start(Shell("/bin/sh", touch + "\0; exit 1")));
        Assert.Throws<ArgumentException>("startInfo", () => ChildProcess.Start(new ProcessStartInfo("/bin/sh", "-c \"" + touch + "\"\0x")));
        ProcessStartInfo withCwd = Shell("/bin/sh", touch);
        withCwd.WorkingDirectory = dir.FullPath + "\0x";
        Assert.Throws<ArgumentException>("startInfo", () => ChildProcess.Start(withCwd));
        ProcessStartInfo withEnvironment = Shell("/bin/sh", touch);
        try
        {
            withEnvironment.Environment["NI_TEST"] = "a\0b";
            Assert.Throws<ArgumentException>("startInfo", () => ChildProcess.Start(withEnvironment));
        }
        catch (ArgumentException) when (Environment.Version.Major >= 11)
        {
            // .NET 11's ProcessStartInfo.Environment refuses the value itself: it cannot reach a start.
        }
        Assert.False(File.Exists(marker));
        // Control: the same call without the NUL runs.
        using (ChildProcess child = ChildProcess.Start(Shell("/bin/sh", touch)))
            Assert.True(child.WaitForExit(30_000));
        Assert.True(File.Exists(marker));
    }

    /// <summary>The handles given to a child: null, negative numbers, disposed, invalid or not open.</summary>
    [Fact]
    public void ChildProcessStart_BadHandles_AreRefusedBeforeAnythingStarts()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "a descriptor number that is not open is a POSIX notion");
        var start = new ProcessStartInfo("/bin/true");
        using var dir = new TempDirectory();
        SafeFileHandle disposed = NoInheritFile.OpenHandle(dir.Combine("f"), FileMode.Create, FileAccess.Write);
        disposed.Dispose();
        Assert.Throws<ArgumentNullException>("handlesByNumber", () => ChildProcess.Start(start, (IReadOnlyDictionary<int, SafeHandle>)null!));
        Assert.Throws<ArgumentException>("inheritedHandles", () => ChildProcess.Start(start, new SafeHandle[] { null! }));
        Assert.Throws<ArgumentException>("handlesByNumber", () => ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [3] = null! }));
        using (SafeFileHandle open = NoInheritFile.OpenHandle(dir.Combine("g"), FileMode.Create, FileAccess.Write))
            Assert.Throws<ArgumentException>("handlesByNumber", () => ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [-1] = open }));
        Assert.Throws<ObjectDisposedException>(() => ChildProcess.Start(start, new SafeHandle[] { disposed }));
        Assert.Throws<ObjectDisposedException>(() => ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [3] = disposed }));
        using var invalid = new SafeFileHandle();
        Assert.Throws<ArgumentException>(() => ChildProcess.Start(start, new SafeHandle[] { invalid }));
        // A value that is no open descriptor: EBADF from ni_spawn, before any child exists.
        using var notOpen = new SafeFileHandle(1 << 20, ownsHandle: false);
        Win32Exception e = Assert.Throws<Win32Exception>(() => ChildProcess.Start(start, new Dictionary<int, SafeHandle> { [3] = notOpen }));
        Assert.Equal(9, e.NativeErrorCode);
    }

    [Fact]
    public void ChildProcess_WaitForExit_NegativeTimeout_ThrowsArgumentOutOfRange()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "starts /bin/true");
        using ChildProcess child = ChildProcess.Start(new ProcessStartInfo("/bin/true"));
        Assert.Throws<ArgumentOutOfRangeException>("milliseconds", () => child.WaitForExit(-2));
        Assert.Throws<ArgumentOutOfRangeException>("timeout", () => child.WaitForExit(TimeSpan.FromMilliseconds(-5))); // as Process
        Assert.True(child.WaitForExit(30_000));
    }

    [Fact]
    public void ChildProcess_KillAfterDispose_ThrowsObjectDisposed_AndDisposeTwiceIsHarmless()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "starts sleep");
        ChildProcess child = ChildProcess.Start(new ProcessStartInfo("sleep", "30"));
        int id = child.Id;
        child.Dispose();
        child.Dispose();
        try
        {
            Assert.Throws<ObjectDisposedException>(() => child.Kill());
        }
        finally
        {
            using Process process = Process.GetProcessById(id);
            process.Kill();
            process.WaitForExit();
        }
    }

    // ---- The matrix in docs/reliability.md, checked against the tests ----

    /// <summary>The repository's root, found upwards from the test binary; null when the tests run away from the source tree.</summary>
    private static string? RepositoryRoot()
    {
        for (string? dir = AppContext.BaseDirectory; dir != null; dir = Path.GetDirectoryName(dir.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar)))
        {
            if (File.Exists(Path.Combine(dir, "docs", "reliability.md")) && File.Exists(Path.Combine(dir, "native", "include", "noinherit.h")))
                return dir;
        }
        return null;
    }

    private static readonly Regex ManagedTest = new(@"`([A-Za-z]+Tests)\.([A-Za-z0-9_]+)`");
    private static readonly Regex NativeTest = new(@"`native\.([a-z0-9_]+)\.([a-z0-9_]+)`");

    /// <summary>
    /// The "Bad-input matrix" of docs/reliability.md cannot drift from the tests: every row names at least one test, every
    /// managed test it names is a [Fact]/[Theory] of this assembly (so it runs, and fails the suite, with the others),
    /// every native one an NI_TEST case of tests/native (which CTest runs); and every public method of the managed API and
    /// every function of noinherit.h has a row.
    /// </summary>
    [Fact]
    public void BadInputMatrix_InTheDocs_NamesTestsThatExist_AndCoversEveryEntryPoint()
    {
        string? root = RepositoryRoot();
        Assert.SkipWhen(root is null, "docs/reliability.md is not above the test binary (the tests run outside the source tree)");
        string doc = File.ReadAllText(Path.Combine(root!, "docs", "reliability.md"));
        int start = doc.IndexOf("\n## Bad-input matrix", StringComparison.Ordinal);
        Assert.True(start >= 0, "docs/reliability.md has no Bad-input matrix section");
        int end = doc.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        string section = end < 0 ? doc[start..] : doc[start..end];
        string[] rows = section.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith('|') && !l.StartsWith("|--", StringComparison.Ordinal)
            && !l.StartsWith("| API", StringComparison.Ordinal) && !l.StartsWith("| C entry point", StringComparison.Ordinal)).ToArray();
        Assert.True(rows.Length > 40, $"the matrix has only {rows.Length} rows");

        Assembly tests = typeof(BadInputTests).Assembly;
        var problems = new List<string>();
        var apiColumn = new List<string>();
        int managedReferences = 0, nativeReferences = 0;
        foreach (string row in rows)
        {
            string[] cells = row.Trim('|').Split('|');
            if (cells.Length < 4)
            {
                problems.Add($"not four columns: {row}");
                continue;
            }
            apiColumn.Add(cells[0]);
            string testCell = cells[^1];
            MatchCollection managed = ManagedTest.Matches(testCell), native = NativeTest.Matches(testCell);
            if (managed.Count + native.Count == 0)
                problems.Add($"no test named: {row}");
            foreach (Match m in managed)
            {
                managedReferences++;
                MethodInfo? method = tests.GetType($"NoInherit.Native.Tests.{m.Groups[1].Value}")?.GetMethod(m.Groups[2].Value);
                if (method is null || !method.GetCustomAttributes().Any(a => a is FactAttribute))
                    problems.Add($"no test method {m.Groups[1].Value}.{m.Groups[2].Value}");
            }
            foreach (Match m in native)
            {
                nativeReferences++;
                // One file per capability for every platform; an entry may carry a platform tag (NI_TEST_POSIX(name)).
                string file = Path.Combine(root!, "tests", "native", $"test_{m.Groups[1].Value}.c");
                if (!File.Exists(file) || !Regex.IsMatch(File.ReadAllText(file), $@"\bNI_TEST(_[A-Z]+)?\({m.Groups[2].Value}\)"))
                    problems.Add($"no native test case {m.Value}");
            }
        }
        string apis = string.Join("\n", apiColumn);

        // Every public method of the managed API (properties and what object gives aside).
        foreach (Type type in new[] { typeof(NoInheritFile), typeof(NoInheritSocket), typeof(Inheritance), typeof(ChildProcess) })
        {
            foreach (MethodInfo method in type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Where(m => !m.IsSpecialName))
            {
                if (!Regex.IsMatch(apis, $@"\b{type.Name}\.{method.Name}\b"))
                    problems.Add($"no row for {type.Name}.{method.Name}");
            }
        }
        // Every function of the C ABI.
        string header = File.ReadAllText(Path.Combine(root!, "native", "include", "noinherit.h"));
        foreach (Match m in Regex.Matches(header, @"NI_API[^;(]*?\b(ni_[a-z_0-9]+)\s*\("))
        {
            if (!Regex.IsMatch(apis, $@"\b{m.Groups[1].Value}\b"))
                problems.Add($"no row for {m.Groups[1].Value}");
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(managedReferences > 0 && nativeReferences > 0);
    }
}
