using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace NoInherit.Native.Benchmarks;

/// <summary>
/// ChildProcess against .NET 11's own process API, on the .NET 11 runtime (the benchmarks are built for net10.0 and run
/// there in process: benchmarks/run.sh --dotnet11). .NET 11's members are reached by reflection, once, in the setup; the
/// calls go through delegates. Program.cs leaves these classes out on an older runtime.
/// </summary>
internal static class DotNet11
{
    internal static bool Available => typeof(ProcessStartInfo).GetProperty("InheritedHandles") != null;

    /// <summary>A start info of /bin/true that passes the child no descriptor but its standard streams, as .NET 11 says it:
    /// InheritedHandles = [].</summary>
    internal static ProcessStartInfo WithNoInheritedHandles(ProcessStartInfo start)
    {
        typeof(ProcessStartInfo).GetProperty("InheritedHandles")!.SetValue(start, new List<SafeHandle>());
        return start;
    }

    /// <summary>.NET 11's static Process.RunAndCaptureText(ProcessStartInfo, TimeSpan?).</summary>
    internal static Func<ProcessStartInfo, TimeSpan?, object> RunAndCaptureText() =>
        typeof(Process).GetMethod("RunAndCaptureText", [typeof(ProcessStartInfo), typeof(TimeSpan?)])!
            .CreateDelegate<Func<ProcessStartInfo, TimeSpan?, object>>();
}

/// <summary>
/// Start /bin/true and wait for it: ChildProcess.Start against .NET 11's Process.Start with InheritedHandles = [] (its way
/// of passing nothing but the standard streams), with 10 and 10,000 descriptors open.
/// </summary>
[MemoryDiagnoser]
public class DotNet11StartBenchmarks
{
    private OpenDescriptors _open = null!;
    private ProcessStartInfo _bcl = null!, _ours = null!;

    [Params(10, 10_000)]
    public int OpenDescriptors { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _bcl = DotNet11.WithNoInheritedHandles(new ProcessStartInfo("/bin/true"));
        _ours = new ProcessStartInfo("/bin/true");
        _open = new OpenDescriptors(OpenDescriptors);
    }

    [GlobalCleanup]
    public void Cleanup() => _open.Dispose();

    [Benchmark(Baseline = true)]
    public int ProcessStartInheritedHandlesEmpty()
    {
        using Process process = Process.Start(_bcl)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    [Benchmark]
    public int ChildProcessStart()
    {
        using ChildProcess child = ChildProcess.Start(_ours);
        child.WaitForExit();
        return child.ExitCode;
    }
}

/// <summary>RunAndCaptureText of a program printing 1,000 lines (seq 1000): ChildProcess's against .NET 11's Process's.</summary>
[MemoryDiagnoser]
public class DotNet11CaptureBenchmarks
{
    private Func<ProcessStartInfo, TimeSpan?, object> _bcl = null!;
    private ProcessStartInfo _start = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bcl = DotNet11.RunAndCaptureText();
        _start = new ProcessStartInfo("seq", "1000") { RedirectStandardOutput = true, RedirectStandardError = true };
    }

    [Benchmark(Baseline = true)]
    public object ProcessRunAndCaptureText() => _bcl(_start, null);

    [Benchmark]
    public object ChildProcessRunAndCaptureText() => ChildProcess.RunAndCaptureText(_start);
}
