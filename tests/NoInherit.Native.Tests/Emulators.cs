using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace NoInherit.Native.Tests;

/// <summary>
/// Whether the tests run under wine, the one place that tells. A test that wine cannot run skips with
/// <c>Assert.SkipWhen(Wine.IsRunning, "...")</c> and a reason naming the wine limitation; nothing else depends on it.
/// </summary>
internal static class Wine
{
    /// <summary>True under wine: its ntdll exports wine_get_version, which Windows' never has.</summary>
    public static bool IsRunning { get; } = Detect();

    private static bool Detect()
    {
        if (!OperatingSystem.IsWindows() || !NativeLibrary.TryLoad("ntdll.dll", out nint ntdll))
            return false;
        return NativeLibrary.TryGetExport(ntdll, "wine_get_version", out _);
    }
}

/// <summary>
/// Whether the tests run under qemu's user-mode emulation started by hand (qemu-aarch64 ./NoInherit.Native.Tests), as
/// build/test.sh runs the linux-arm64 build. The one thing that differs for the tests: the kernel cannot start a binary
/// of the emulated architecture (no binfmt_misc handler), so the process cannot exec its own executable (ENOEXEC).
/// Host binaries (/bin/sh, the probe's readlink) run natively and see the same /proc.
/// </summary>
internal static class QemuUser
{
    /// <summary>True when the kernel knows this process as qemu (its comm is "qemu-&lt;arch&gt;") and no binfmt_misc
    /// handler for qemu is registered, so an exec of a binary of this architecture fails.</summary>
    public static bool CannotExecOwnArchitecture { get; } = Detect();

    private static bool Detect()
    {
        if (!OperatingSystem.IsLinux())
            return false;
        try
        {
            // /proc/self/status is the kernel's, not emulated: Name is the program the kernel started.
            string? name = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Name:", StringComparison.Ordinal));
            if (name is null || !name["Name:".Length..].Trim().StartsWith("qemu-", StringComparison.Ordinal))
                return false;
            const string binfmt = "/proc/sys/fs/binfmt_misc";
            return !Directory.Exists(binfmt) || !Directory.EnumerateFiles(binfmt, "qemu-*").Any();
        }
        catch (IOException)
        {
            return false;
        }
    }
}
