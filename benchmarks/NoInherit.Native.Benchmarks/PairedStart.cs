using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace NoInherit.Native.Benchmarks;

/// <summary>
/// DotNet11StartBenchmarks as a paired loop: each iteration starts /bin/true with .NET 11's Process.Start (InheritedHandles
/// = []) and with ChildProcess.Start, back to back, and waits for each; medians of the start call alone and of start +
/// wait, and their ratios, with 10 and with 10,000 descriptors open. BenchmarkDotNet measures one method after the
/// other, a minute or more apart, and its ratio of the two swung by more than the difference being looked for. On
/// .NET 11 only: <c>build/dotnet11.sh run .../NoInherit.Native.Benchmarks.dll --paired-start [iterations]</c>.
/// </summary>
internal static class PairedStart
{
    internal static void Run(int iterations)
    {
        ProcessStartInfo bcl = DotNet11.WithNoInheritedHandles(new ProcessStartInfo("/bin/true"));
        var ours = new ProcessStartInfo("/bin/true");
        foreach (int count in new[] { 10, 10_000 })
        {
            using var open = new OpenDescriptors(count);
            var times = new SortedDictionary<string, List<double>>(StringComparer.Ordinal);
            for (int i = -20; i < iterations; i++) // 20 warm-ups
            {
                long a = Stopwatch.GetTimestamp(), b, c, d, e;
                using (Process process = Process.Start(bcl)!)
                {
                    b = Stopwatch.GetTimestamp();
                    process.WaitForExit();
                }
                c = Stopwatch.GetTimestamp();
                using (ChildProcess child = ChildProcess.Start(ours))
                {
                    d = Stopwatch.GetTimestamp();
                    child.WaitForExit();
                }
                e = Stopwatch.GetTimestamp();
                if (i < 0)
                    continue;
                PairedCapture.Add(times, "start, .NET 11", a, b);
                PairedCapture.Add(times, "start, ours", c, d);
                PairedCapture.Add(times, "start + wait, .NET 11", a, c);
                PairedCapture.Add(times, "start + wait, ours", c, e);
            }
            Console.WriteLine($"{count} descriptors open, {iterations} iterations:");
            foreach (string phase in new[] { "start", "start + wait" })
            {
                double theirs = PairedCapture.Median(times[$"{phase}, .NET 11"]), mine = PairedCapture.Median(times[$"{phase}, ours"]);
                Console.WriteLine($"  {phase,-14} .NET 11 {theirs:F3} ms, ours {mine:F3} ms, ratio {mine / theirs:F2}");
            }
        }
    }
}
