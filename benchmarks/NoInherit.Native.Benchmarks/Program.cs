using BenchmarkDotNet.Running;

// Each class compares NoInherit.Native with the pure-managed call it stands beside (the baseline) and,
// where one exists, the raw system call (the floor). See benchmarks/run.sh.
BenchmarkSwitcher.FromAssembly(typeof(NoInherit.Native.Benchmarks.Libc).Assembly).Run(args);
