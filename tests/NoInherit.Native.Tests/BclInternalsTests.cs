using System;
using System.Collections.Generic;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>The BCL's private members this library reaches (BclInternals), on the runtime the tests run on.</summary>
public class BclInternalsTests
{
    /// <summary>
    /// Run on each target framework (net8.0 and net10.0, and under wine): a runtime that renamed a member fails here,
    /// by name, instead of switching silently to the fallback BclInternals documents.
    /// </summary>
    [Fact]
    public void EveryAccessor_ResolvesOnThisRuntime()
    {
        IReadOnlyList<string> unresolved = BclInternals.Unresolved();
        Assert.True(unresolved.Count == 0,
            $"On .NET {Environment.Version} these private BCL members no longer resolve: {string.Join(", ", unresolved)}");
    }
}
