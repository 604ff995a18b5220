using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Reflection;

namespace NoInherit.Native.Benchmarks;

/// <summary>
/// DotNet11CaptureBenchmarks as a paired loop, for a machine under load: each iteration runs .NET 11's
/// Process.RunAndCaptureText and ChildProcess.RunAndCaptureText back to back, then each phase of both (start,
/// ReadAllBytes, WaitForExit), so that a change of load hits both sides alike; medians and their ratio. BenchmarkDotNet
/// measures one method after the other, minutes apart. On .NET 11 only:
/// <c>build/dotnet11.sh run .../NoInherit.Native.Benchmarks.dll --paired-capture [iterations]</c>.
/// </summary>
internal static class PairedCapture
{
    internal static void Run(int iterations)
    {
        var start = new ProcessStartInfo("seq", "1000") { RedirectStandardOutput = true, RedirectStandardError = true };
        Func<ProcessStartInfo, TimeSpan?, object> bclRun = DotNet11.RunAndCaptureText();
        MethodInfo bclReadAllBytes = typeof(Process).GetMethod("ReadAllBytes", [typeof(TimeSpan?)])!;
        var times = new SortedDictionary<string, List<double>>(StringComparer.Ordinal);
        for (int i = -20; i < iterations; i++) // 20 warm-ups
        {
            long a = Stopwatch.GetTimestamp();
            bclRun(start, null);
            long b = Stopwatch.GetTimestamp();
            ChildProcess.RunAndCaptureText(start);
            long c = Stopwatch.GetTimestamp();
            long[] ours, bcl;
            using (ChildProcess child = ChildProcess.Start(start))
                ours = Phases(c, () => child.ReadAllBytes(), child.WaitForExit);
            long d = Stopwatch.GetTimestamp();
            using (Process process = Process.Start(start)!)
                bcl = Phases(d, () => bclReadAllBytes.Invoke(process, [null]), process.WaitForExit);
            if (i < 0)
                continue;
            Add(times, "RunAndCaptureText, .NET 11", a, b);
            Add(times, "RunAndCaptureText, ours", b, c);
            foreach ((string side, long[] t) in new[] { ("ours", ours), (".NET 11", bcl) })
            {
                Add(times, $"  start, {side}", t[0], t[1]);
                Add(times, $"  read, {side}", t[1], t[2]);
                Add(times, $"  wait, {side}", t[2], t[3]);
            }
        }
        foreach ((string name, List<double> list) in times)
            Console.WriteLine($"{name,-30} median {Median(list):F3} ms");
        Console.WriteLine($"ratio of the medians, RunAndCaptureText: {Median(times["RunAndCaptureText, ours"]) / Median(times["RunAndCaptureText, .NET 11"]):F2}");
    }

    private static long[] Phases(long started, Action read, Action wait)
    {
        long s = Stopwatch.GetTimestamp();
        read();
        long r = Stopwatch.GetTimestamp();
        wait();
        return [started, s, r, Stopwatch.GetTimestamp()];
    }

    internal static void Add(SortedDictionary<string, List<double>> times, string name, long from, long to)
    {
        if (!times.TryGetValue(name, out List<double>? list))
            times[name] = list = [];
        list.Add((to - from) * 1000.0 / Stopwatch.Frequency);
    }

    internal static double Median(List<double> list) => list.Order().ElementAt(list.Count / 2);
}
