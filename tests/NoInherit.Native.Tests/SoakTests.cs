using System;
using System.IO;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The short soak: every operation from several threads for 15 seconds while children start throughout; then nothing
/// may be left over. Alone (it counts this process's descriptors). The long run is tests/Soak (docs/reliability.md).
/// </summary>
[Collection(nameof(SealCollection))]
public class SoakTests
{
    // Growth allowed once the GC and malloc have given back what is free: code compiled meanwhile, thread arenas'
    // bookkeeping. A leak per operation (thousands of them) would be far above it.
    private const long RssSlackKiB = 24 * 1024;
    // And for each thread the pool added meanwhile (it does under CPU starvation, as when other jobs share the machine):
    // its stack and malloc arena stay resident. Seen: +26 MiB on a machine running a benchmark beside the suite.
    private const long RssSlackPerPoolThreadKiB = 1024;
    private const long HeapSlackBytes = 8 << 20;

    [Fact]
    public void ShortSoak_LeavesDescriptorsAndMemoryAsTheyWere_LosesNoData()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && File.Exists("/bin/sh"),
            "the soak counts descriptors in /proc/self/fd and starts /bin/sh children (Linux)");
        using var dir = new TempDirectory();
        SoakReport report = Soak.Run(TimeSpan.FromSeconds(15), threads: 4, dir.FullPath);
        TestContext.Current.SendDiagnosticMessage(report.ToString());
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.Equal(0, report.DataLost);
        Assert.Equal(0, report.LeakedIntoChildren);
        Assert.Equal(report.DescriptorsStart, report.DescriptorsEnd);
        foreach ((string kind, long count) in report.Operations)
            Assert.True(count > 0, $"no {kind} operation ran:\n{report}");
        Assert.True(report.ChildrenStarted > 0 && report.CopiesVerified > 0, report.ToString());
        Assert.True(report.ManagedHeapEnd - report.ManagedHeapStart < HeapSlackBytes, report.ToString());
        // Under qemu-user the RSS is the emulator's too, whose translation cache fills as code runs: not ours to judge.
        if (!QemuUser.CannotExecOwnArchitecture)
            Assert.True(report.RssEndKiB - report.RssStartKiB
                < RssSlackKiB + RssSlackPerPoolThreadKiB * Math.Max(0, report.PoolThreadsEnd - report.PoolThreadsStart), report.ToString());
    }
}
