using System;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains;
using BenchmarkDotNet.Toolchains.NativeAot;

// Each class compares NoInherit.Native with the pure-managed call it stands beside (the baseline) and,
// where one exists, the raw system call (the floor). See benchmarks/run.sh.
//   --quick   short runs (2 warm-ups, 5 iterations)     --smoke   one iteration of each benchmark
//   --aot     the same suite compiled with NativeAOT; everything else goes to BenchmarkDotNet.
Job job = Job.Default;
if (args.Contains("--quick"))
    job = Job.ShortRun.WithWarmupCount(2).WithIterationCount(5);
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
string[] rest = args.Where(a => a is not ("--quick" or "--smoke" or "--aot")).ToArray();
BenchmarkSwitcher.FromAssembly(typeof(NoInherit.Native.Benchmarks.Libc).Assembly)
    .Run(rest, DefaultConfig.Instance.AddJob(job.AsDefault()).WithBuildTimeout(TimeSpan.FromMinutes(30)));
