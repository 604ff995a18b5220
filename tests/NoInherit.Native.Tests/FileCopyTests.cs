using System;
using System.IO;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>NoInheritFile.Copy against File.Copy on identical fixtures: outcome, both paths afterwards, permission bits, times.</summary>
/// <remarks>The fixtures use Unix permission bits, hard links and symlinks; the tests that need them skip on Windows.</remarks>
[UnsupportedOSPlatform("windows")]
public class FileCopyTests
{
    private const string SourceContent = "source content\n";
    private const string LongerDestinationContent = "an older destination that is much longer than the source\n";

    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        string[] names =
        [
            "missing source", "missing source, existing destination", "missing source directory", "new destination",
            "existing destination", "larger destination", "destination is a directory", "source is a directory",
            "same path", "same file, other spelling", "hard link to the same file", "symlink to the same file",
            "destination is a dangling symlink", "missing destination directory", "destination with trailing separator",
            "destination parent is a file", "read-only destination", "empty source", "one-byte source", "1 MiB source",
            "read-only source",
        ];
        foreach (string name in names)
        {
            data.Add(name, false);
            data.Add(name, true);
        }
        return data;
    }

    /// <summary>Lays out the fixture of a case afresh and returns the two paths to pass.</summary>
    private static (string Source, string Destination) Prepare(TempDirectory dir, string name)
    {
        dir.Clear();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllText(source, SourceContent);
        File.SetLastWriteTimeUtc(source, new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc));
        switch (name)
        {
            case "missing source":
                File.Delete(source);
                break;
            case "missing source, existing destination":
                File.Delete(source);
                File.WriteAllText(destination, LongerDestinationContent);
                break;
            case "missing source directory":
                source = dir.Combine("no-such-directory", "source");
                break;
            case "existing destination":
                File.WriteAllText(destination, "old\n");
                break;
            case "larger destination":
                File.WriteAllText(destination, LongerDestinationContent);
                break;
            case "destination is a directory":
                Directory.CreateDirectory(destination);
                break;
            case "source is a directory":
                File.Delete(source);
                Directory.CreateDirectory(source);
                break;
            case "same path":
                destination = source;
                break;
            case "same file, other spelling":
                Directory.CreateDirectory(dir.Combine("sub"));
                destination = dir.FullPath + "/sub/../source";
                break;
            case "hard link to the same file":
                Libc.HardLink(source, destination);
                break;
            case "symlink to the same file":
                File.CreateSymbolicLink(destination, source);
                break;
            case "destination is a dangling symlink":
                File.CreateSymbolicLink(destination, dir.Combine("symlink-target"));
                break;
            case "missing destination directory":
                destination = dir.Combine("no-such-directory", "destination");
                break;
            case "destination with trailing separator":
                destination += "/";
                break;
            case "destination parent is a file":
                File.WriteAllText(dir.Combine("a-file"), "x");
                destination = dir.Combine("a-file", "destination");
                break;
            case "read-only destination":
                File.WriteAllText(destination, LongerDestinationContent);
                File.SetUnixFileMode(destination, UnixFileMode.UserRead);
                break;
            case "empty source":
                File.WriteAllBytes(source, []);
                break;
            case "one-byte source":
                File.WriteAllBytes(source, [0x42]);
                break;
            case "1 MiB source":
                byte[] content = new byte[1 << 20];
                new Random(1234).NextBytes(content);
                File.WriteAllBytes(source, content);
                break;
            case "read-only source":
                File.SetUnixFileMode(source, UnixFileMode.UserRead);
                break;
            case "new destination":
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, null);
        }
        return (source, destination);
    }

    private static string Run(TempDirectory dir, string name, bool overwrite, Action<string, string, bool> copy)
    {
        (string source, string destination) = Prepare(dir, name);
        string outcome = Outcome.Of(() => copy(source, destination, overwrite));
        // File.Copy gives the destination the source's modification time.
        string times = File.Exists(source) && File.Exists(destination)
            ? $"same modification time: {File.GetLastWriteTimeUtc(destination) == File.GetLastWriteTimeUtc(source)}"
            : "";
        string result = $"{outcome}\nsource: {Observe.PathState(source)}\ndestination: {Observe.PathState(destination)}\n{times}";
        Observe.AssertNoDescriptorOn(dir.FullPath);
        return result;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Copy_MatchesFileCopy(string name, bool overwrite)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures use Unix permission bits, hard links and symlinks.");
        using var dir = new TempDirectory();
        string expected = Run(dir, name, overwrite, File.Copy);
        string actual = Run(dir, name, overwrite, NoInheritFile.Copy);
        Outcome.AssertSame(expected, actual);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(1 << 20)]
    [InlineData((1 << 20) + 3)]
    public void Copy_ContentIsExact_AndOverwriteLeavesNoStaleTail(int length)
    {
        using var dir = new TempDirectory();
        byte[] content = new byte[length];
        new Random(length).NextBytes(content);
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, content);

        NoInheritFile.Copy(source, destination);
        Assert.Equal(content, File.ReadAllBytes(destination));

        // A longer destination is replaced whole: nothing of its old tail remains.
        byte[] longer = new byte[length + 5000];
        Array.Fill(longer, (byte)0xEE);
        File.WriteAllBytes(destination, longer);
        NoInheritFile.Copy(source, destination, overwrite: true);
        Assert.Equal(content, File.ReadAllBytes(destination));
        Assert.Equal(content, File.ReadAllBytes(source));
    }

    [Fact]
    public void Copy_ExistingDestinationWithoutOverwrite_KeepsItsContent()
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllText(source, SourceContent);
        File.WriteAllText(destination, LongerDestinationContent);
        IOException error = Assert.Throws<IOException>(() => NoInheritFile.Copy(source, destination));
        Assert.Equal($"The file '{destination}' already exists.", error.Message);
        Assert.Equal(LongerDestinationContent, File.ReadAllText(destination));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Copy_OntoItself_LeavesTheContentIntact(bool overwrite)
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source");
        File.WriteAllText(source, SourceContent);
        Assert.Throws<IOException>(() => NoInheritFile.Copy(source, source, overwrite));
        Libc.HardLink(source, dir.Combine("link"));
        Assert.Throws<IOException>(() => NoInheritFile.Copy(dir.Combine("link"), source, overwrite));
        Assert.Equal(SourceContent, File.ReadAllText(source));
    }

    public static TheoryData<int, bool> PermissionCases()
    {
        var data = new TheoryData<int, bool>();
        foreach (int mode in new[] { 0b110_000_000, 0b110_100_000, 0b110_100_100, 0b110_110_110, 0b111_101_101, 0b111_111_111, 0b100_000_000, 0b100_111_101_101 /* setuid */, 0b1_111_111_111 /* sticky */ })
        {
            data.Add(mode, false);
            data.Add(mode, true);
        }
        return data;
    }

    /// <summary>The destination's permission bits are those File.Copy gives, for a new destination and for an overwritten one.</summary>
    [Theory]
    [MemberData(nameof(PermissionCases))]
    public void Copy_DestinationPermissions_MatchFileCopy(int sourceMode, bool destinationExists)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix permission bits.");
        using var dir = new TempDirectory();
        string Run(Action<string, string, bool> copy)
        {
            dir.Clear();
            string source = dir.Combine("source"), destination = dir.Combine("destination");
            File.WriteAllText(source, SourceContent);
            File.SetUnixFileMode(source, (UnixFileMode)sourceMode);
            if (destinationExists)
            {
                File.WriteAllText(destination, "old");
                File.SetUnixFileMode(destination, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupExecute);
            }
            string outcome = Outcome.Of(() => copy(source, destination, true));
            return $"{outcome}; destination mode {Convert.ToString((int)File.GetUnixFileMode(destination), 8)}";
        }
        string expected = Run(File.Copy);
        string actual = Run(NoInheritFile.Copy);
        Outcome.AssertSame(expected, actual);
    }

    /// <summary>File.Copy takes FileShare locks on both files (shared on the source, exclusive on the destination).</summary>
    [Theory]
    [InlineData("source", FileShare.None)]
    [InlineData("source", FileShare.Read)]
    [InlineData("destination", FileShare.None)]
    [InlineData("destination", FileShare.Read)]
    public void Copy_WhileAFileIsLocked_MatchesFileCopy(string locked, FileShare holderShare)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix advisory locks.");
        using var dir = new TempDirectory();
        string Run(Action<string, string, bool> copy)
        {
            dir.Clear();
            string source = dir.Combine("source"), destination = dir.Combine("destination");
            File.WriteAllText(source, SourceContent);
            File.WriteAllText(destination, LongerDestinationContent);
            string outcome;
            using (SafeFileHandle holder = File.OpenHandle(locked == "source" ? source : destination, FileMode.Open, FileAccess.Read, holderShare))
                outcome = Outcome.Of(() => copy(source, destination, true));
            return $"{outcome}\ndestination: {File.ReadAllText(destination)}";
        }
        string expected = Run(File.Copy);
        string actual = Run(NoInheritFile.Copy);
        Outcome.AssertSame(expected, actual);
    }
}
