using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using BenchmarkDotNet.Toolchains.NativeAot;
using Perfolizer.Horology;

// Each class compares NoInherit.Native with the pure-managed call it stands beside (the baseline) and,
// where one exists, the raw system call (the floor). See benchmarks/run.sh.
//   --quick   short runs (2 warm-ups, 5 iterations of ~0.1 s)     --smoke   one iteration of each benchmark
//   --aot     the same suite compiled with NativeAOT
//   --inprocess  in this process, on the runtime it runs on (the .NET 11 lane: build/dotnet11.sh run ... --inprocess);
//   everything else goes to BenchmarkDotNet. The DotNet11* classes run only on .NET 11, whose process API they measure.
//   --paired-capture [N]  (.NET 11 only) DotNet11Capture as a paired loop of N iterations, for a loaded machine (PairedCapture.cs).
//   --paired-start [N]    (.NET 11 only) DotNet11Start the same way (PairedStart.cs).
int paired = Array.IndexOf(args, "--paired-capture");
if (paired >= 0)
{
    NoInherit.Native.Benchmarks.PairedCapture.Run(paired + 1 < args.Length ? int.Parse(args[paired + 1]) : 200);
    return;
}
paired = Array.IndexOf(args, "--paired-start");
if (paired >= 0)
{
    NoInherit.Native.Benchmarks.PairedStart.Run(paired + 1 < args.Length ? int.Parse(args[paired + 1]) : 1000);
    return;
}
Job job = Job.Default;
if (args.Contains("--quick"))
    job = Job.ShortRun.WithWarmupCount(2).WithIterationCount(5).WithIterationTime(TimeInterval.FromMilliseconds(100));
else if (args.Contains("--smoke"))
    job = Job.Dry;
if (args.Contains("--aot"))
{
    // ILCompiler at the runtime's own version, from nuget.org: BenchmarkDotNet's default for .NET 10 is the
    // dnceng preview feed, which a build machine that only reaches nuget.org cannot restore from.
    IToolchain aot = NativeAotToolchain.CreateBuilder()
        .UseNuGet(Environment.Version.ToString(3), "https://api.nuget.org/v3/index.json")
        .TargetFrameworkMoniker("net10.0")
        .ToToolchain();
    job = job.WithToolchain(aot).WithId("NativeAOT");
}
if (args.Contains("--inprocess"))
    job = job.WithToolchain(InProcessEmitToolchain.Instance).WithId("InProcess");
string[] rest = args.Where(a => a is not ("--quick" or "--smoke" or "--aot" or "--inprocess")).ToArray();
IConfig config = DefaultConfig.Instance.AddJob(job.AsDefault()).WithBuildTimeout(TimeSpan.FromMinutes(30))
    .AddFilter(new SimpleFilter(b => NoInherit.Native.Benchmarks.DotNet11.Available || !b.Descriptor.Type.Name.StartsWith("DotNet11", StringComparison.Ordinal)));
Summary[] summaries = BenchmarkSwitcher.FromAssembly(typeof(NoInherit.Native.Benchmarks.Libc).Assembly).Run(rest, config).ToArray();

// One screen: every benchmark against its baseline as the ratio of medians (the issue's measure; BenchmarkDotNet's
// own Ratio column is the mean of per-iteration ratios). benchmarks/run.sh prints this block.
Console.WriteLine();
Console.WriteLine("== ratios: median time / the baseline's median, same run (below 1.00: faster than the baseline)");
Console.WriteLine($"| {"benchmark",-58} | {"baseline",-22} | {"median",12} | {"ratio",6} |");
Console.WriteLine($"|{new string('-', 60)}|{new string('-', 24)}|{new string('-', 14)}|{new string('-', 8)}|");
foreach (Summary summary in summaries)
{
    foreach (BenchmarkReport report in summary.Reports)
    {
        BenchmarkCase benchmark = report.BenchmarkCase;
        if (summary.IsBaseline(benchmark))
            continue;
        BenchmarkCase? baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmark));
        double? median = report.ResultStatistics?.Median;
        double? baselineMedian = baseline is null ? null : summary[baseline]?.ResultStatistics?.Median;
        string name = $"{benchmark.Descriptor.Type.Name.Replace("Benchmarks", "")}.{benchmark.Descriptor.WorkloadMethod.Name} {benchmark.Parameters.DisplayInfo}";
        string ratio = median is double m && baselineMedian is double b && b > 0 ? (m / b).ToString("F2") : "-";
        Console.WriteLine($"| {name.Trim(),-58} | {baseline?.Descriptor.WorkloadMethod.Name ?? "-",-22} | {Format(median),12} | {ratio,6} |");
    }
}

static string Format(double? nanoseconds) => nanoseconds switch
{
    null => "failed",
    < 1e3 => $"{nanoseconds:F1} ns",
    < 1e6 => $"{nanoseconds / 1e3:F2} us",
    < 1e9 => $"{nanoseconds / 1e6:F2} ms",
    _ => $"{nanoseconds / 1e9:F2} s",
};
