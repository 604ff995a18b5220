using System;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Runtime.InteropServices;
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
}
