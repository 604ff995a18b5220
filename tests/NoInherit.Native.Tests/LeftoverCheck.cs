using System;
using System.Linq;
using Xunit;

[assembly: AssemblyFixture(typeof(NoInherit.Native.Tests.LeftoverCheck))]

namespace NoInherit.Native.Tests;

/// <summary>
/// No test may leave a process behind. Before the first test, this process's environment gets a mark unique to the run
/// (<see cref="MarkName"/>), which every process the tests start inherits, at any depth, through any API, and keeps
/// when it is handed to init; after the last test, a process still carrying the mark (Linux: /proc/*/environ) fails the
/// run, named, and is killed. It is given 10 s to go first, for children that are ending as the suite ends. Children
/// started with an environment of their own (Environment cleared) are not seen. Other systems: no check (nothing
/// there shows another process's environment).
/// </summary>
public sealed class LeftoverCheck : IDisposable
{
    internal const string MarkName = "NI_TEST_RUN_MARK";

    private readonly string _mark = Guid.NewGuid().ToString("N");

    public LeftoverCheck()
    {
        if (OperatingSystem.IsLinux())
            Environment.SetEnvironmentVariable(MarkName, _mark);
    }

    public void Dispose()
    {
        if (!OperatingSystem.IsLinux())
            return;
        var left = ProcessMarks.GoneWithin(MarkName, _mark, 10_000);
        if (left.Count == 0)
            return;
        string names = string.Join("; ", left.Select(pid => $"{pid}: {ProcessMarks.CommandLine(pid)}"));
        ProcessMarks.Kill(left);
        throw new InvalidOperationException($"The tests left {left.Count} process(es) behind (now killed): {names}");
    }
}
