using System;
using System.Collections.Generic;
using System.Diagnostics;
using BenchmarkDotNet.Attributes;

namespace NoInherit.Native.Benchmarks;

/// <summary>
/// Start /bin/true and wait for it: ChildProcess.Start against Process.Start, with the parent holding 10 and
/// 10,000 open (close-on-exec, as .NET opens them) descriptors, which the kernel copies into every child.
/// </summary>
[MemoryDiagnoser]
public class ChildProcessBenchmarks
{
    private OpenDescriptors _open = null!;
    private ProcessStartInfo _start = null!;

    [Params(10, 10_000)]
    public int OpenDescriptors { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _start = new ProcessStartInfo("/bin/true") { UseShellExecute = false };
        _open = new OpenDescriptors(OpenDescriptors);
    }

    [GlobalCleanup]
    public void Cleanup() => _open.Dispose();

    [Benchmark(Baseline = true)]
    public int ProcessStart()
    {
        using Process process = Process.Start(_start)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    [Benchmark]
    public int ChildProcessStart()
    {
        using ChildProcess child = ChildProcess.Start(_start);
        child.WaitForExit();
        return child.ExitCode;
    }
}

/// <summary>
/// <paramref name="count"/> open descriptors in this process (close-on-exec, as .NET opens them: /dev/null duplicated),
/// which the kernel copies into every child started meanwhile; closed by Dispose.
/// </summary>
internal sealed class OpenDescriptors : IDisposable
{
    private readonly List<int> _open = new();

    public OpenDescriptors(int count)
    {
        int devNull = Libc.open("/dev/null", Libc.O_RDONLY | Libc.O_CLOEXEC);
        _open.Add(devNull);
        while (_open.Count < count)
        {
            int fd = Libc.fcntl(devNull, Libc.F_DUPFD_CLOEXEC, 0);
            if (fd < 0)
                throw new InvalidOperationException($"could not open {count} descriptors (RLIMIT_NOFILE)");
            _open.Add(fd);
        }
    }

    public void Dispose()
    {
        foreach (int fd in _open)
            Libc.close(fd);
        _open.Clear();
    }
}
