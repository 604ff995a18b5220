using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
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
/// Process's event-driven reading: start `seq 1000` with both outputs redirected, take its lines through
/// OutputDataReceived / ErrorDataReceived (BeginOutputReadLine, BeginErrorReadLine) and wait until they have all come
/// (WaitForExit()): ChildProcess against Process.
/// </summary>
[MemoryDiagnoser]
public class ChildProcessEventBenchmarks
{
    private ProcessStartInfo _start = null!;
    private int _lines;

    [GlobalSetup]
    public void Setup() =>
        _start = new ProcessStartInfo("/usr/bin/seq", "1000") { RedirectStandardOutput = true, RedirectStandardError = true };

    private void Count(object sender, DataReceivedEventArgs e) => Interlocked.Increment(ref _lines);

    [Benchmark(Baseline = true)]
    public int ProcessEvents()
    {
        _lines = 0;
        using Process process = Process.Start(_start)!;
        process.OutputDataReceived += Count;
        process.ErrorDataReceived += Count;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.WaitForExit();
        return _lines;
    }

    [Benchmark]
    public int ChildProcessEvents()
    {
        _lines = 0;
        using ChildProcess child = ChildProcess.Start(_start);
        child.OutputDataReceived += Count;
        child.ErrorDataReceived += Count;
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        child.WaitForExit();
        return _lines;
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
