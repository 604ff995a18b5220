using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The checks around a terminal that need no terminal: PseudoTerminalSize's range, what PseudoTerminal cannot be combined
/// with (refused before anything is created, naming the other property), and the members that need a terminal on a child
/// without one. They run on every platform.
/// </summary>
public class PseudoTerminalOptionsTests
{
    [Theory]
    [InlineData(0, 24, "columns")]
    [InlineData(-1, 24, "columns")]
    [InlineData(80, 0, "rows")]
    [InlineData(32768, 24, "columns")]
    [InlineData(80, 32768, "rows")]
    public void Size_OutOfRange_IsRefused_NamingTheArgument(int columns, int rows, string paramName)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new PseudoTerminalSize(columns, rows));
        Assert.Equal(paramName, e.ParamName);
    }

    [Fact]
    public void Size_KeepsItsValues_AndComparesByValue()
    {
        var size = new PseudoTerminalSize(PseudoTerminalSize.MaxValue, 1);
        Assert.Equal((32767, 1), (size.Columns, size.Rows));
        Assert.Equal(new PseudoTerminalSize(32767, 1), size);
        Assert.NotEqual(new PseudoTerminalSize(1, 32767), size);
        Assert.Equal("80x24", new PseudoTerminalSize(80, 24).ToString());
    }

    public static TheoryData<string> Conflicts() => new()
    {
        "RedirectStandardInput", "RedirectStandardOutput", "RedirectStandardError",
        "StandardInputHandle", "StandardOutputHandle", "StandardErrorHandle", "InheritedHandlesByNumber", "StartDetached",
    };

    [Theory]
    [MemberData(nameof(Conflicts))]
    public void PseudoTerminal_WithAnotherClaimOnTheStandardStreams_IsRefused_NamingIt(string property)
    {
        using SafeFileHandle nullHandle = NoInheritFile.OpenNullHandle();
        var start = new ProcessStartInfo("this-program-is-never-started");
        var options = new ChildProcessOptions { PseudoTerminal = new PseudoTerminalSize(80, 24) };
        switch (property)
        {
            case "RedirectStandardInput": start.RedirectStandardInput = true; break;
            case "RedirectStandardOutput": start.RedirectStandardOutput = true; break;
            case "RedirectStandardError": start.RedirectStandardError = true; break;
            case "StandardInputHandle": options.StandardInputHandle = nullHandle; break;
            case "StandardOutputHandle": options.StandardOutputHandle = nullHandle; break;
            case "StandardErrorHandle": options.StandardErrorHandle = nullHandle; break;
            case "InheritedHandlesByNumber": options.InheritedHandlesByNumber = new Dictionary<int, SafeHandle> { [1] = nullHandle }; break;
            case "StartDetached": options.StartDetached = true; break;
        }
        // On Unix the program is looked up first: give one that exists, so that the conflict is what is reported.
        start.FileName = OperatingSystem.IsWindows() ? "cmd.exe" : "/bin/sh";
        var e = Assert.Throws<InvalidOperationException>(() => ChildProcess.Start(start, options));
        Assert.Contains("PseudoTerminal", e.Message);
        Assert.Contains(property, e.Message);
    }

    [Fact]
    public void DefaultSize_IsRefused()
    {
        var options = new ChildProcessOptions { PseudoTerminal = default(PseudoTerminalSize) };
        var start = new ProcessStartInfo(OperatingSystem.IsWindows() ? "cmd.exe" : "/bin/sh");
        var e = Assert.Throws<ArgumentException>(() => ChildProcess.Start(start, options));
        Assert.Equal("options", e.ParamName);
        Assert.Contains("PseudoTerminal", e.Message);
    }

    [Fact]
    public void WithoutATerminal_TerminalAndResizeTerminal_ThrowInvalidOperation()
    {
        using ChildProcess child = ChildProcess.Start(ChildPrograms.Exit(0), new ChildProcessOptions());
        Assert.Contains("PseudoTerminal", Assert.Throws<InvalidOperationException>(() => child.Terminal).Message);
        Assert.Throws<InvalidOperationException>(() => child.ResizeTerminal(80, 24));
        child.WaitForExit();
    }
}
