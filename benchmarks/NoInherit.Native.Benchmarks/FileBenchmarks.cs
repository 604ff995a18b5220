using System;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native.Benchmarks;

/// <summary>Open + dispose: NoInheritFile.OpenHandle against File.OpenHandle (baseline) and raw open/close (the floor).</summary>
[MemoryDiagnoser]
public class OpenHandleBenchmarks
{
    private string _path = "";

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"ni-bench-open-{Environment.ProcessId}");
        File.WriteAllBytes(_path, new byte[4096]);
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Baseline = true)]
    public void FileOpenHandle()
    {
        using SafeFileHandle handle = File.OpenHandle(_path);
    }

    [Benchmark]
    public void NoInheritOpenHandle()
    {
        using SafeFileHandle handle = NoInheritFile.OpenHandle(_path);
    }

    [Benchmark]
    public void LibcOpenClose() => Libc.close(Libc.open(_path, Libc.O_RDONLY | Libc.O_CLOEXEC));
}

/// <summary>Open + read 4 KiB + dispose through FileStream.</summary>
[MemoryDiagnoser]
public class FileStreamBenchmarks
{
    private string _path = "";
    private readonly byte[] _buffer = new byte[4096];

    [GlobalSetup]
    public void Setup()
    {
        _path = Path.Combine(Path.GetTempPath(), $"ni-bench-stream-{Environment.ProcessId}");
        File.WriteAllBytes(_path, new byte[4096]);
    }

    [GlobalCleanup]
    public void Cleanup() => File.Delete(_path);

    [Benchmark(Baseline = true)]
    public int NewFileStream()
    {
        using var stream = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return stream.Read(_buffer);
    }

    [Benchmark]
    public int NoInheritOpen()
    {
        using FileStream stream = NoInheritFile.Open(_path, FileMode.Open, FileAccess.Read, FileShare.Read);
        return stream.Read(_buffer);
    }
}

/// <summary>
/// Copy over an existing destination, 4 KiB, 1 MiB and 64 MiB, on each file system given: NoInheritFile.Copy against
/// File.Copy (category "plain"), and NoInheritFile.Copy with durable: true against File.Copy followed by an fsync of the
/// file and of its directory, the only way a .NET caller gets a durable copy today (category "durable").
/// </summary>
/// <remarks>
/// The file systems: NI_BENCH_COPY_DIRS="ext4=/mnt/a,xfs=/mnt/b,..." (benchmarks/copy-filesystems.sh makes loop-mounted
/// images and sets it), else the temporary directory alone.
/// </remarks>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public class CopyBenchmarks
{
    private string _source = "", _destination = "", _directory = "";

    [Params(4096, 1 << 20, 64 << 20)]
    public int Size { get; set; }

    [ParamsSource(nameof(FileSystems))]
    public string FileSystem { get; set; } = "";

    public static string[] FileSystems() => CopyDirectories.Names();

    [GlobalSetup]
    public void Setup()
    {
        _directory = Path.Combine(CopyDirectories.Path(FileSystem), $"ni-bench-copy-{Environment.ProcessId}-{Size}");
        Directory.CreateDirectory(_directory);
        _source = Path.Combine(_directory, "source");
        _destination = Path.Combine(_directory, "destination");
        var data = new byte[Size];
        new Random(42).NextBytes(data);
        File.WriteAllBytes(_source, data);
        File.Copy(_source, _destination);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_directory, recursive: true);

    [Benchmark(Baseline = true), BenchmarkCategory("plain")]
    public void FileCopy() => File.Copy(_source, _destination, overwrite: true);

    [Benchmark, BenchmarkCategory("plain")]
    public void NoInheritCopy() => NoInheritFile.Copy(_source, _destination, overwrite: true);

    [Benchmark(Baseline = true), BenchmarkCategory("durable")]
    public void FileCopyThenFsync()
    {
        File.Copy(_source, _destination, overwrite: true);
        Libc.Fsync(_destination, directory: false);
        Libc.Fsync(_directory, directory: true);
    }

    [Benchmark, BenchmarkCategory("durable")]
    public void NoInheritCopyDurable() => NoInheritFile.Copy(_source, _destination, overwrite: true, durable: true);
}

/// <summary>Where the copy benchmarks run: NI_BENCH_COPY_DIRS ("name=path,..."), else the temporary directory ("tmp").</summary>
internal static class CopyDirectories
{
    private static (string Name, string Path)[] All()
    {
        string? list = Environment.GetEnvironmentVariable("NI_BENCH_COPY_DIRS");
        if (string.IsNullOrWhiteSpace(list))
            return [("tmp", System.IO.Path.GetTempPath())];
        return list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(item => item.Split('=', 2))
            .Select(pair => (pair[0], pair[1]))
            .ToArray();
    }

    public static string[] Names() => All().Select(d => d.Name).ToArray();

    public static string Path(string name) => All().First(d => d.Name == name).Path;
}

/// <summary>
/// A sparse 1 GiB file (eight 1 MiB data extents, the rest holes): NoInheritFile.Copy against File.Copy and
/// `cp --reflink=auto` (which is also --sparse=auto). Each run prints the blocks the destination allocated
/// against the source's ("// blocks:" lines in the log; benchmarks/run.sh shows them).
/// </summary>
[MemoryDiagnoser]
public class SparseCopyBenchmarks
{
    private const long Size = 1L << 30;
    private string _source = "", _destination = "";

    [GlobalSetup]
    public void Setup()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"ni-bench-sparse-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        _source = Path.Combine(dir, "source");
        _destination = Path.Combine(dir, "destination");
        var extent = new byte[1 << 20];
        new Random(42).NextBytes(extent);
        using var stream = new FileStream(_source, FileMode.Create, FileAccess.Write);
        stream.SetLength(Size);
        for (int i = 0; i < 8; i++)
        {
            stream.Position = i * (Size / 8) + (Size / 16);
            stream.Write(extent);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (File.Exists(_destination))
            Console.WriteLine($"// blocks: source {Cp.Blocks(_source)} destination {Cp.Blocks(_destination)} (512-byte units)");
        Directory.Delete(Path.GetDirectoryName(_source)!, recursive: true);
    }

    [Benchmark(Baseline = true)]
    public void FileCopy() => File.Copy(_source, _destination, overwrite: true);

    [Benchmark]
    public void NoInheritCopy() => NoInheritFile.Copy(_source, _destination, overwrite: true);

    [Benchmark]
    public void CpReflinkAuto() => Cp.Run(_source, _destination);
}

/// <summary>coreutils, for the copy comparisons.</summary>
internal static class Cp
{
    public static void Run(string source, string destination) => Exec("cp", "--reflink=auto", source, destination);

    /// <summary>The blocks a file allocates (stat's %b, 512-byte units).</summary>
    public static long Blocks(string path) => long.Parse(Exec("stat", "-c", "%b", path));

    private static string Exec(string program, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string argument in arguments)
            start.ArgumentList.Add(argument);
        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new IOException($"{program} exited with {process.ExitCode}");
        return output.Trim();
    }
}

/// <summary>Pipe creation, dup and the inheritable-flag round trip, against the equivalent libc/fcntl calls.</summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public unsafe class HandleBenchmarks
{
    private SafeFileHandle _file = null!;
    private int _fd;

    [GlobalSetup]
    public void Setup()
    {
        _file = NoInheritFile.OpenHandle("/dev/null");
        _fd = (int)_file.DangerousGetHandle();
    }

    [GlobalCleanup]
    public void Cleanup() => _file.Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("pipe")]
    public void LibcPipe2()
    {
        int* fds = stackalloc int[2];
        Libc.pipe2(fds, Libc.O_CLOEXEC);
        Libc.close(fds[0]);
        Libc.close(fds[1]);
    }

    [Benchmark, BenchmarkCategory("pipe")]
    public void NoInheritPipe()
    {
        NoInheritFile.CreateAnonymousPipe(out SafeFileHandle read, out SafeFileHandle write);
        read.Dispose();
        write.Dispose();
    }

    [Benchmark(Baseline = true), BenchmarkCategory("dup")]
    public void LibcDupCloexec() => Libc.close(Libc.fcntl(_fd, Libc.F_DUPFD_CLOEXEC, 0));

    [Benchmark, BenchmarkCategory("dup")]
    public void NoInheritDuplicate() => NoInheritFile.Duplicate(_file).Dispose();

    [Benchmark(Baseline = true), BenchmarkCategory("set-inheritable")]
    public void LibcFcntlRoundTrip()
    {
        Libc.fcntl(_fd, Libc.F_SETFD, 0);
        Libc.fcntl(_fd, Libc.F_SETFD, Libc.FD_CLOEXEC);
    }

    [Benchmark, BenchmarkCategory("set-inheritable")]
    public void NoInheritSetInheritableRoundTrip()
    {
        Inheritance.SetInheritable(_file, true);
        Inheritance.SetInheritable(_file, false);
    }
}
