using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.Versioning;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// NoInheritFile.Copy and CopyAsync against File.Copy on identical fixtures (outcome, both paths afterwards, permission bits,
/// times, locks), and what File.Copy does not promise: no partial destination on failure or cancellation, sparse files,
/// progress, and no descriptor of the copy (the temp file included) in a child started mid-copy.
/// </summary>
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
            "read-only source", "destination is a symlink to a file", "destination is a relative symlink chain",
            "destination is a symlink to a directory", "destination has another hard link",
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
            case "destination is a symlink to a file":
                File.WriteAllText(dir.Combine("symlink-target"), LongerDestinationContent);
                File.CreateSymbolicLink(destination, dir.Combine("symlink-target"));
                break;
            case "destination is a relative symlink chain":
                Directory.CreateDirectory(dir.Combine("sub"));
                File.WriteAllText(dir.Combine("sub", "final"), LongerDestinationContent);
                File.CreateSymbolicLink(dir.Combine("sub", "middle"), "final");
                File.CreateSymbolicLink(destination, "sub/middle");
                break;
            case "destination is a symlink to a directory":
                Directory.CreateDirectory(dir.Combine("sub"));
                File.CreateSymbolicLink(destination, dir.Combine("sub"));
                break;
            case "destination has another hard link":
                File.WriteAllText(destination, LongerDestinationContent);
                Libc.HardLink(destination, dir.Combine("other-link"));
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

    /// <summary>CopyAsync behaves as Copy, so as File.Copy, in every case.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void CopyAsync_MatchesFileCopy(string name, bool overwrite)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures use Unix permission bits, hard links and symlinks.");
        using var dir = new TempDirectory();
        string expected = Run(dir, name, overwrite, File.Copy);
        string actual = Run(dir, name, overwrite, (s, d, o) => NoInheritFile.CopyAsync(s, d, o).GetAwaiter().GetResult());
        Outcome.AssertSame(expected, actual);
    }

    /// <summary>A durable copy (flushed before and after the destination's name changes) behaves as File.Copy in every case.</summary>
    [Theory]
    [MemberData(nameof(Cases))]
    public void Copy_Durable_MatchesFileCopy(string name, bool overwrite)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures use Unix permission bits, hard links and symlinks.");
        using var dir = new TempDirectory();
        string expected = Run(dir, name, overwrite, File.Copy);
        string actual = Run(dir, name, overwrite, (s, d, o) => NoInheritFile.Copy(s, d, o, durable: true));
        Outcome.AssertSame(expected, actual);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void CopyAsync_Durable_MatchesFileCopy(string name, bool overwrite)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "The fixtures use Unix permission bits, hard links and symlinks.");
        using var dir = new TempDirectory();
        string expected = Run(dir, name, overwrite, File.Copy);
        string actual = Run(dir, name, overwrite,
            (s, d, o) => NoInheritFile.CopyAsync(s, d, o, durable: true).GetAwaiter().GetResult());
        Outcome.AssertSame(expected, actual);
    }

    /// <summary>
    /// Durable and not, new and replaced, through each overload: the exact content, sound progress, nothing beside the
    /// destination (no temp: the replaced file's name is reused on ext4 by a swap, which must leave nothing either), and a
    /// second copy over the first works.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Copy_DurableOrNot_GivesTheContent_AndLeavesOnlyTheDestination(bool durable)
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        byte[] content = new byte[(3 << 20) + 11];
        new Random(3).NextBytes(content);
        File.WriteAllBytes(source, content);

        NoInheritFile.Copy(source, destination, overwrite: false, durable);
        Assert.Equal(content, File.ReadAllBytes(destination));
        NoInheritFile.Copy(source, destination, overwrite: true, durable);
        Assert.Equal(content, File.ReadAllBytes(destination));
        Assert.Throws<IOException>(() => NoInheritFile.Copy(source, destination, overwrite: false, durable));

        File.WriteAllText(destination, LongerDestinationContent);
        var progress = new Recorder();
        await NoInheritFile.CopyAsync(source, destination, overwrite: true, durable, progress, TestContext.Current.CancellationToken);
        progress.AssertSound(content.Length);
        Assert.Equal(content, File.ReadAllBytes(destination));
        File.Delete(destination);
        await NoInheritFile.CopyAsync(source, destination, false, durable, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(content, File.ReadAllBytes(destination));
        Assert.Equal(["destination", "source"], Entries(dir.FullPath));
        Observe.AssertNoDescriptorOn(dir.FullPath);
    }

    /// <summary>A durable copy cancelled mid-copy: canceled with the token, the destination as it was, no temp.</summary>
    [Fact]
    public async Task CopyAsync_Durable_CancelledMidCopy_LeavesTheDestinationAsItWas()
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, new byte[40 << 20]);
        File.WriteAllText(destination, LongerDestinationContent);
        using var cancel = new CancellationTokenSource();
        var progress = new Recorder(copied =>
        {
            if (copied > 0)
                cancel.Cancel();
        });
        Task copy = NoInheritFile.CopyAsync(source, destination, overwrite: true, durable: true, progress, cancel.Token);
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copy);
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Equal(LongerDestinationContent, File.ReadAllText(destination));
        Assert.Equal(["destination", "source"], Entries(dir.FullPath));
    }

    // 16 MiB is the most one kernel call copies, 1 MiB the read/write buffer: each size and one byte more.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4096)]
    [InlineData(1 << 20)]
    [InlineData((1 << 20) + 3)]
    [InlineData(16 << 20)]
    [InlineData((16 << 20) + 1)]
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

    // ---- Sources that are not plain files ----

    /// <summary>procfs and sysfs files report a size of 0 or 4096 whatever their content: the copy reads them to the end.</summary>
    [Theory]
    [InlineData("/proc/self/cmdline")]
    [InlineData("/proc/version")]
    [InlineData("/proc/self/mountinfo")]
    [InlineData("/sys/devices/system/cpu/online")]
    [InlineData("/sys/kernel/mm/transparent_hugepage/enabled")]
    public void Copy_ProcAndSysFiles_MatchFileCopy(string path)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "procfs and sysfs are Linux's.");
        Assert.SkipUnless(File.Exists(path), $"{path} does not exist on this system.");
        using var dir = new TempDirectory();
        string ours = dir.Combine("ours"), bcl = dir.Combine("bcl");
        File.Copy(path, bcl);
        NoInheritFile.Copy(path, ours);
        byte[] expected = File.ReadAllBytes(bcl);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, File.ReadAllBytes(ours));
        Assert.Equal(File.GetUnixFileMode(bcl), File.GetUnixFileMode(ours));
    }

    // ---- Sparse files ----

    /// <summary>512-byte blocks allocated to the file (stat's st_blocks).</summary>
    private static long AllocatedBlocks(string path)
    {
        var start = new ProcessStartInfo("stat") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in new[] { "-c", "%b", path })
            start.ArgumentList.Add(argument);
        using Process stat = Process.Start(start)!;
        string output = stat.StandardOutput.ReadToEnd();
        stat.WaitForExit();
        Assert.Equal(0, stat.ExitCode);
        return long.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static byte[] Island(int index, int length)
    {
        byte[] data = new byte[length];
        new Random(1000 + index).NextBytes(data);
        return data;
    }

    /// <summary>Writes a file of <paramref name="length"/> bytes that holds data only at <paramref name="offsets"/>.</summary>
    private static void WriteSparse(string path, long length, long[] offsets, int island)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        stream.SetLength(length);
        for (int i = 0; i < offsets.Length; i++)
        {
            stream.Position = offsets[i];
            stream.Write(Island(i, island));
        }
    }

    /// <summary>A 5 GiB file with data islands (one across the 4 GiB line): size, data and holes come through, and the
    /// copy allocates about the blocks the source does (File.Copy would write all 5 GiB).</summary>
    [Fact]
    public async Task CopyAsync_SparseFileOver4GiB_KeepsItsDataAndItsHoles()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SEEK_DATA/SEEK_HOLE and st_blocks are checked on Linux.");
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        const long Length = 5L << 30;
        const int IslandLength = 8192;
        long[] offsets = [0, 1L << 30, (4L << 30) - 6000, Length - IslandLength];
        WriteSparse(source, Length, offsets, IslandLength);
        long sourceBlocks = AllocatedBlocks(source);
        Assert.SkipWhen(sourceBlocks * 512 >= Length, "The file system of the temp directory does not keep holes.");

        var progress = new Recorder();
        await NoInheritFile.CopyAsync(source, destination, progress: progress, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(Length, new FileInfo(destination).Length);
        using (SafeFileHandle handle = File.OpenHandle(destination))
        {
            byte[] buffer = new byte[IslandLength];
            for (int i = 0; i < offsets.Length; i++)
            {
                Assert.Equal(IslandLength, RandomAccess.Read(handle, buffer, offsets[i]));
                Assert.Equal(Island(i, IslandLength), buffer);
            }
            Assert.Equal(IslandLength, RandomAccess.Read(handle, buffer, 2L << 30)); // a hole reads as zeros
            Assert.All(buffer, b => Assert.Equal(0, b));
        }
        Assert.InRange(AllocatedBlocks(destination), 1, sourceBlocks + 64);
        progress.AssertSound(Length);
    }

    /// <summary>Several holes (at both ends and between the islands): the content is File.Copy's, the blocks the source's.</summary>
    [Fact]
    public void Copy_SparseFileWithSeveralHoles_MatchesFileCopyContent_WithTheSourcesBlocks()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "SEEK_DATA/SEEK_HOLE and st_blocks are checked on Linux.");
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), ours = dir.Combine("ours"), bcl = dir.Combine("bcl");
        WriteSparse(source, 64L << 20, [1L << 20, 10L << 20, (30L << 20) + 4096, 50L << 20], 1 << 20);
        long sourceBlocks = AllocatedBlocks(source);
        Assert.SkipWhen(sourceBlocks * 512 >= 64L << 20, "The file system of the temp directory does not keep holes.");
        File.Copy(source, bcl);
        NoInheritFile.Copy(source, ours);
        Assert.Equal(File.ReadAllBytes(bcl), File.ReadAllBytes(ours));
        Assert.InRange(AllocatedBlocks(ours), 4 * (1 << 20) / 512, sourceBlocks + 64);
    }

    // ---- Across file systems ----

    /// <summary>tmpfs (/dev/shm) to the temp directory's file system and back: where copy_file_range says EXDEV.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData((3 << 20) + 5)]
    public void Copy_AcrossFileSystems_MatchesFileCopy(int length)
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Directory.Exists("/dev/shm"), "/dev/shm (a tmpfs) is Linux's.");
        using var dir = new TempDirectory();
        string shm = $"/dev/shm/noinherit-tests-{Guid.NewGuid():N}";
        try
        {
            byte[] content = new byte[length];
            new Random(length).NextBytes(content);
            File.WriteAllBytes(shm, content);
            File.SetUnixFileMode(shm, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
            string ours = dir.Combine("ours"), bcl = dir.Combine("bcl");
            File.Copy(shm, bcl);
            NoInheritFile.Copy(shm, ours);
            Assert.Equal(Observe.PathState(bcl), Observe.PathState(ours));
            Assert.Equal(content, File.ReadAllBytes(ours));
            NoInheritFile.Copy(ours, shm, overwrite: true);
            Assert.Equal(content, File.ReadAllBytes(shm));
        }
        finally
        {
            File.Delete(shm);
        }
    }

    // ---- Never a partial destination ----

    private static string[] Entries(string directory) =>
        Directory.GetFileSystemEntries(directory).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray();

    private static (int ExitCode, string Output) RunTool(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output + error.Result);
    }

    /// <summary>
    /// A 1 MiB tmpfs and a 3 MiB source: the same exception as File.Copy (IOException, ENOSPC), but where File.Copy leaves
    /// a 1 MiB partial destination (and has already destroyed the old one), ours leaves none, or the old one whole.
    /// </summary>
    [Fact]
    public void Copy_OntoAFullFileSystem_ThrowsAsFileCopy_AndLeavesNoPartialDestination()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "mounts a tmpfs.");
        using var dir = new TempDirectory();
        string mount = dir.Combine("small");
        Directory.CreateDirectory(mount);
        (int rc, string output) = RunTool("mount", "-t", "tmpfs", "-o", "size=1m", "noinherit-tests", mount);
        Assert.SkipWhen(rc != 0, $"mounting a small tmpfs is not allowed here (needs root): {output.Trim()}");
        try
        {
            string source = dir.Combine("source"), destination = Path.Combine(mount, "destination");
            byte[] content = new byte[3 << 20];
            new Random(3).NextBytes(content);
            File.WriteAllBytes(source, content);

            string bcl = Outcome.Of(() => File.Copy(source, destination));
            Assert.Equal(1 << 20, new FileInfo(destination).Length); // File.Copy's partial destination
            File.Delete(destination);
            string ours = Outcome.Of(() => NoInheritFile.Copy(source, destination));
            Outcome.AssertSame(bcl, ours);
            Assert.StartsWith("threw System.IO.IOException", ours, StringComparison.Ordinal);
            Assert.Empty(Entries(mount));
            // The failed copy's temp has no name left, but its blocks come back only once every process sharing its open
            // file has let go of it: a child that a thread of another test forked meanwhile, until it closes its copies.
            Assert.True(SpinWait.SpinUntil(() => new DriveInfo(mount).AvailableFreeSpace > 900 << 10, TimeSpan.FromSeconds(10)),
                "the tmpfs's space did not come back");

            File.WriteAllText(destination, LongerDestinationContent);
            ours = Outcome.Of(() => NoInheritFile.CopyAsync(source, destination, overwrite: true).GetAwaiter().GetResult());
            Outcome.AssertSame(bcl, ours);
            Assert.Equal(LongerDestinationContent, File.ReadAllText(destination));
            Assert.Equal(["destination"], Entries(mount));
        }
        finally
        {
            RunTool("umount", "-l", mount);
        }
    }

    /// <summary>A destination that is a symlink loop: File.Copy's outcome, and the link is left as it was.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Copy_OntoASymlinkLoop_MatchesFileCopy(bool overwrite)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "symlinks need privileges on Windows.");
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        string Run(Action<string, string, bool> copy)
        {
            dir.Clear();
            File.WriteAllText(source, SourceContent);
            File.CreateSymbolicLink(destination, "destination");
            string outcome = Outcome.Of(() => copy(source, destination, overwrite));
            return $"{outcome}\nlink: {new FileInfo(destination).LinkTarget}\nentries: {string.Join(", ", Entries(dir.FullPath))}";
        }
        Outcome.AssertSame(Run(File.Copy), Run(NoInheritFile.Copy));
    }

    // ---- Hard links and replacement ----

    /// <summary>
    /// Side by side, the one documented difference: File.Copy writes an existing destination in place, so every hard link to
    /// it sees the new content; the copy here replaces the destination's name with a new file, so the other links keep the
    /// old content (as a reader that has the old file open keeps reading it whole: tests/native, copy_replaces_atomically).
    /// </summary>
    [Fact]
    public void Copy_OverADestinationWithAnotherHardLink_ReplacesTheNameOnly_WhereFileCopyRewritesTheFile()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "hard links made with link(2).");
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination"), other = dir.Combine("other-link");
        foreach (bool ours in new[] { false, true })
        {
            dir.Clear();
            File.WriteAllText(source, SourceContent);
            File.WriteAllText(destination, LongerDestinationContent);
            Libc.HardLink(destination, other);
            if (ours)
                NoInheritFile.Copy(source, destination, overwrite: true);
            else
                File.Copy(source, destination, overwrite: true);
            Assert.Equal(SourceContent, File.ReadAllText(destination));
            Assert.Equal(ours ? LongerDestinationContent : SourceContent, File.ReadAllText(other));
        }
    }

    // ---- Progress and cancellation ----

    /// <summary>An IProgress that records every value on the reporting thread (no posting, so the order is the calls').</summary>
    private sealed class Recorder(Action<long>? onReport = null) : IProgress<long>
    {
        public List<long> Values { get; } = [];

        public void Report(long value)
        {
            lock (Values)
                Values.Add(value);
            onReport?.Invoke(value);
        }

        /// <summary>0 first, then strictly growing, and last the size.</summary>
        public void AssertSound(long size)
        {
            Assert.NotEmpty(Values);
            Assert.Equal(0, Values[0]);
            Assert.Equal(size, Values[^1]);
            for (int i = 1; i < Values.Count; i++)
                Assert.True(Values[i] > Values[i - 1], $"progress went from {Values[i - 1]} to {Values[i]}: {string.Join(", ", Values)}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 << 20)]
    [InlineData((40 << 20) + 7)]
    public async Task CopyAsync_ReportsProgress_FromZeroUpToTheSize(int length)
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        byte[] content = new byte[length];
        new Random(length).NextBytes(content);
        File.WriteAllBytes(source, content);
        var progress = new Recorder();
        await NoInheritFile.CopyAsync(source, destination, progress: progress, cancellationToken: TestContext.Current.CancellationToken);
        progress.AssertSound(length);
        if (OperatingSystem.IsLinux() && length > 16 << 20)
            Assert.True(progress.Values.Count >= 4, $"one report per 16 MiB chunk at least: {string.Join(", ", progress.Values)}");
        Assert.Equal(content, File.ReadAllBytes(destination));
    }

    /// <summary>
    /// Cancelled from the progress callback once the first chunk is in: the task ends canceled with the token, no report
    /// follows the cancelling one, the destination is as it was (absent, or its old content) and no temp file is left.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CopyAsync_CancelledMidCopy_LeavesTheDestinationAsItWas(bool destinationExists)
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        const int Length = 64 << 20;
        File.WriteAllBytes(source, new byte[Length]);
        if (destinationExists)
            File.WriteAllText(destination, LongerDestinationContent);
        using var cancel = new CancellationTokenSource();
        var progress = new Recorder(copied =>
        {
            if (copied > 0)
                cancel.Cancel();
        });

        Task copy = NoInheritFile.CopyAsync(source, destination, overwrite: true, progress, cancel.Token);
        OperationCanceledException e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copy);
        Assert.True(copy.IsCanceled);
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Equal(progress.Values.FindIndex(v => v > 0), progress.Values.Count - 1); // nothing after the cancel
        // Mid-copy on Linux (16 MiB chunks). Wine's CopyFileExW calls no progress routine: its only report after 0 is
        // the library's last one, with the size, before the destination is touched.
        if (OperatingSystem.IsLinux())
            Assert.InRange(progress.Values[^1], 1, Length - 1);
        if (destinationExists)
            Assert.Equal(LongerDestinationContent, File.ReadAllText(destination));
        Assert.Equal(destinationExists ? ["destination", "source"] : ["source"], Entries(dir.FullPath));
        Observe.AssertNoDescriptorOn(dir.FullPath);
    }

    /// <summary>A token cancelled before the call: a canceled task at once, no callback, nothing created.</summary>
    [Fact]
    public async Task CopyAsync_AlreadyCancelled_DoesNothing()
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllText(source, SourceContent);
        var progress = new Recorder();
        Task copy = NoInheritFile.CopyAsync(source, destination, false, progress, new CancellationToken(canceled: true));
        Assert.True(copy.IsCanceled);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => copy);
        Assert.Empty(progress.Values);
        Assert.False(File.Exists(destination));
    }

    /// <summary>A cancellation at the very last report (all copied, not yet in place) still leaves the old destination.</summary>
    [Fact]
    public async Task CopyAsync_CancelledAtTheLastReport_LeavesTheOldDestination()
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, new byte[3 << 20]);
        File.WriteAllText(destination, LongerDestinationContent);
        using var cancel = new CancellationTokenSource();
        var progress = new Recorder(copied =>
        {
            if (copied == 3 << 20)
                cancel.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NoInheritFile.CopyAsync(source, destination, true, progress, cancel.Token));
        Assert.Equal(LongerDestinationContent, File.ReadAllText(destination));
        Assert.Equal(["destination", "source"], Entries(dir.FullPath));
    }

    /// <summary>An IProgress that throws stops the copy like a cancellation, and the task carries its exception.</summary>
    [Fact]
    public async Task CopyAsync_ProgressThatThrows_FaultsTheTask_AndLeavesNothing()
    {
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, new byte[20 << 20]);
        var progress = new Recorder(copied =>
        {
            if (copied > 0)
                throw new InvalidOperationException("from the progress handler");
        });
        Task copy = NoInheritFile.CopyAsync(source, destination, false, progress, TestContext.Current.CancellationToken);
        InvalidOperationException e = await Assert.ThrowsAsync<InvalidOperationException>(() => copy);
        Assert.Equal("from the progress handler", e.Message);
        Assert.True(copy.IsFaulted);
        Assert.Equal(["source"], Entries(dir.FullPath));
    }

    /// <summary>Argument errors are thrown by the call itself, as the BCL's async methods do, with File.Copy's exceptions.</summary>
    [Fact]
    public void CopyAsync_BadArguments_ThrowBeforeATaskExists()
    {
        CancellationToken token = TestContext.Current.CancellationToken;
        Assert.Throws<ArgumentNullException>("sourceFileName", () => { _ = NoInheritFile.CopyAsync(null!, "x", cancellationToken: token); });
        Assert.Throws<ArgumentNullException>("destFileName", () => { _ = NoInheritFile.CopyAsync("x", null!, cancellationToken: token); });
        Assert.Throws<ArgumentException>("sourceFileName", () => { _ = NoInheritFile.CopyAsync("", "x", cancellationToken: token); });
        Assert.Throws<ArgumentException>("destFileName", () => { _ = NoInheritFile.CopyAsync("x", "", cancellationToken: token); });
    }

    // ---- Locks and inheritance mid-copy ----

    /// <summary>
    /// While the copy runs (paused in its progress callback), the files carry File.Copy's locks: the source a shared one (a
    /// FileShare.None open fails, a FileShare.Read one works) and an existing destination an exclusive one.
    /// </summary>
    [Fact]
    public async Task CopyAsync_HoldsFileCopysLocks_WhileCopying()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix advisory locks.");
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, new byte[20 << 20]);
        File.WriteAllText(destination, LongerDestinationContent);
        string? observed = null;
        var progress = new Recorder(copied =>
        {
            if (copied == 0 || observed is not null)
                return;
            static string Try(string path, FileShare share) => Outcome.Of(() => File.OpenHandle(path, FileMode.Open, FileAccess.Read, share).Dispose());
            observed = $"source None: {Try(source, FileShare.None)}\nsource Read: {Try(source, FileShare.Read)}\n" +
                       $"destination Read: {Try(destination, FileShare.Read)}";
        });
        await NoInheritFile.CopyAsync(source, destination, true, progress, TestContext.Current.CancellationToken);
        Assert.NotNull(observed);
        Assert.Contains($"source None: threw System.IO.IOException: The process cannot access the file '{source}'", observed);
        Assert.Contains("source Read: ok", observed);
        Assert.Contains($"destination Read: threw System.IO.IOException: The process cannot access the file '{destination}'", observed);
        // Released once the copy is done.
        File.OpenHandle(source, FileMode.Open, FileAccess.Read, FileShare.None).Dispose();
        File.OpenHandle(destination, FileMode.Open, FileAccess.Read, FileShare.None).Dispose();
    }

    /// <summary>
    /// A child started while the copy runs (paused in its progress callback, with the source, the temp file and the existing
    /// destination all open) holds none of them, while an inheritable control handle does reach it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CopyAsync_AChildStartedMidCopy_HoldsNoneOfTheCopysFiles(bool destinationExists)
    {
        ChildProcessProbe.SkipUnlessSupported();
        using var dir = new TempDirectory();
        string source = dir.Combine("source"), destination = dir.Combine("destination");
        File.WriteAllBytes(source, new byte[20 << 20]);
        if (destinationExists)
            File.WriteAllText(destination, LongerDestinationContent);
        using SafeFileHandle control = File.OpenHandle(dir.Combine("control"), FileMode.Create, FileAccess.ReadWrite,
            FileShare.Read | FileShare.Inheritable);
        string controlTarget = ChildProcessProbe.TargetOf(control);
        List<string>? ownMidCopy = null;
        HashSet<string>? child = null;
        var progress = new Recorder(copied =>
        {
            if (copied > 0 && child is null)
            {
                ownMidCopy = Observe.OwnDescriptorTargets();
                child = ChildProcessProbe.TargetsHeldByNewChild();
            }
        });
        await NoInheritFile.CopyAsync(source, destination, true, progress, TestContext.Current.CancellationToken);

        Assert.NotNull(ownMidCopy);
        Assert.NotNull(child);
        string[] copyFiles = ownMidCopy.Where(t => t.StartsWith(dir.FullPath + "/", StringComparison.Ordinal) && t != controlTarget).ToArray();
        // Not blind: this process held the source and the temp file (an O_TMPFILE "#inode (deleted)", or a ".ni-copy-*.tmp"),
        // and the existing destination, at that moment.
        Assert.Contains(source, copyFiles);
        Assert.Contains(copyFiles, t => t.StartsWith(dir.FullPath + "/#", StringComparison.Ordinal) || t.StartsWith(dir.FullPath + "/.ni-copy-", StringComparison.Ordinal));
        if (destinationExists)
            Assert.Contains(destination, copyFiles);
        Assert.Contains(controlTarget, child);
        foreach (string target in copyFiles)
            Assert.DoesNotContain(target, child);
        Assert.Equal(20 << 20, new FileInfo(destination).Length);
        Observe.AssertNoDescriptorOn(source);
        Observe.AssertNoDescriptorOn(destination);
    }
}
