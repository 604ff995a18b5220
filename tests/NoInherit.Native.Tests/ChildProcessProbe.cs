using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Starts a real child process and reports which descriptors it inherited: a /bin/sh whose loop prints the
/// number and readlink target of every entry of its own /proc/&lt;pid&gt;/fd. A descriptor is inherited when the
/// child holds the same number with the same target as the parent.
/// </summary>
internal static class ChildProcessProbe
{
    public const string SkipReason =
        "The child-process probe lists descriptors through /proc/<pid>/fd and runs /bin/sh; both are Linux-only here.";

    public static bool IsSupported => OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd") && File.Exists("/bin/sh");

    public static void SkipUnlessSupported() => Assert.SkipUnless(IsSupported, SkipReason);

    // $$ is the shell itself, so /proc/$$/fd lists what the shell holds (readlink runs in a child of its own).
    private const string Script = "for f in /proc/$$/fd/*; do printf '%s ' \"${f##*/}\"; readlink \"$f\" || echo '?'; done; echo END";

    /// <summary>Starts one child and returns descriptor number -> link target for every descriptor it holds.</summary>
    public static Dictionary<int, string> DescriptorsOfNewChild()
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Script);
        using Process child = Process.Start(start) ?? throw new InvalidOperationException("the child did not start");
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        stderr.Wait();
        Assert.True(child.ExitCode == 0, $"probe child exited with {child.ExitCode}: {stderr.Result}");

        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length > 0 && lines[^1] == "END", $"probe output is incomplete: {stdout}");
        var descriptors = new Dictionary<int, string>();
        foreach (string line in lines[..^1])
        {
            int space = line.IndexOf(' ');
            if (space > 0 && int.TryParse(line.AsSpan(0, space), out int fd))
                descriptors[fd] = line[(space + 1)..];
        }
        // The redirected stdout is a pipe the child must hold, or the probe itself is broken.
        Assert.True(descriptors.TryGetValue(1, out string? stdoutTarget) && stdoutTarget.StartsWith("pipe:[", StringComparison.Ordinal),
            $"the probe child does not show its own stdout pipe: {stdout}");
        return descriptors;
    }

    /// <summary>The set of link targets a new child holds.</summary>
    public static HashSet<string> TargetsHeldByNewChild() => DescriptorsOfNewChild().Values.ToHashSet();

    /// <summary>What this process's descriptor links to: a path, "socket:[inode]", "pipe:[inode]".</summary>
    public static string TargetOf(SafeHandle handle) => TargetOf((int)handle.DangerousGetHandle());

    public static string TargetOf(int fd) =>
        new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? throw new InvalidOperationException($"descriptor {fd} has no link target");

    /// <summary>
    /// Starts one child and asserts that it holds none of <paramref name="notInherited"/> and all of
    /// <paramref name="inherited"/> (the negative control; without it the probe proves nothing, so its absence fails).
    /// A control is matched by descriptor number and link target; a handle that must not be inherited must not
    /// appear under any number, so their targets must differ from the controls'.
    /// </summary>
    public static void AssertChildHolds(SafeHandle[] notInherited, SafeHandle[] inherited)
    {
        Assert.NotEmpty(inherited);
        ThrowIfTargetsOverlap(notInherited, inherited);
        var expectedAbsent = notInherited.Select(h => ((int)h.DangerousGetHandle(), TargetOf(h))).ToArray();
        var expectedPresent = inherited.Select(h => ((int)h.DangerousGetHandle(), TargetOf(h))).ToArray();

        Dictionary<int, string> child = DescriptorsOfNewChild();
        string listing = string.Join(", ", child.OrderBy(p => p.Key).Select(p => $"{p.Key}->{p.Value}"));
        foreach ((int fd, string target) in expectedPresent)
        {
            Assert.True(child.TryGetValue(fd, out string? seen) && seen == target,
                $"negative control missing: the child should hold fd {fd} ({target}); it holds {listing}");
        }
        // Stricter than the number: the target must not be anywhere in the child.
        foreach ((int fd, string target) in expectedAbsent)
        {
            Assert.False(child.ContainsValue(target), $"the child inherited {target} (our fd {fd}); it holds {listing}");
        }
    }

    private static void ThrowIfTargetsOverlap(SafeHandle[] notInherited, SafeHandle[] inherited)
    {
        var controls = inherited.Select(TargetOf).ToHashSet();
        foreach (SafeHandle handle in notInherited)
        {
            if (controls.Contains(TargetOf(handle)))
                throw new ArgumentException("a handle under test and a control share a link target; the probe could not tell them apart");
        }
    }
}
