using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading.Tasks;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// Starts a real child process and reports which descriptors (handles) it inherited.
/// <list type="bullet">
/// <item>Linux: a /bin/sh whose loop prints the number and readlink target of every entry of its own /proc/&lt;pid&gt;/fd.
/// A descriptor is inherited when the child holds the same number with the same target as the parent. Under
/// qemu-user the shell is a host binary that the kernel runs natively, and /proc is the host's: it works the same.</item>
/// <item>Windows: ni_handleprobe.exe (tests/native, copied beside the tests), given handle values on its command
/// line, prints for each "-" or what the handle is in the child ("disk &lt;final path&gt;", "socket &lt;host&gt; &lt;port&gt;",
/// "pipe &lt;bytes waiting&gt;", ...). An inherited handle keeps its value, so a handle is inherited when the child holds
/// the same value and describes it as this process describes its own (<see cref="TargetOf(SafeHandle)"/>, the same
/// rules as ni_describe.c). The child is started by Process.Start, which calls CreateProcessW with bInheritHandles=TRUE
/// (always, for UseShellExecute=false, through .NET 10; the redirected standard streams need it anyway), so it inherits
/// every handle that is inheritable when it starts: the negative controls show that this really happens.</item>
/// </list>
/// </summary>
internal static class ChildProcessProbe
{
    public const string SkipReason =
        "The child-process probe lists descriptors through /proc/<pid>/fd and runs /bin/sh; both are Linux-only here.";

    /// <summary>Whether a child's whole descriptor table can be listed (Linux); the listing API below needs it.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd") && File.Exists("/bin/sh");

    public static void SkipUnlessSupported() => Assert.SkipUnless(IsSupported, SkipReason);

    /// <summary>
    /// Whether a child can be asked about given handles (<see cref="HeldByNewChild"/>, <see cref="AssertChildHolds"/>): Linux
    /// through /proc, Windows through ni_handleprobe.exe (its absence there is a broken build, and fails the test).
    /// </summary>
    public static bool CanProbeHandles => IsSupported || OperatingSystem.IsWindows();

    public const string HandleProbeSkipReason =
        "No way to see what a child process holds here: the probe needs Linux's /proc/<pid>/fd or Windows (ni_handleprobe.exe).";

    public static void SkipUnlessCanProbeHandles() => Assert.SkipUnless(CanProbeHandles, HandleProbeSkipReason);

    // $$ is the shell itself, so /proc/$$/fd lists what the shell holds (readlink runs in a child of its own).
    private const string Script = "for f in /proc/$$/fd/*; do printf '%s ' \"${f##*/}\"; readlink \"$f\" || echo '?'; done; echo END";

    /// <summary>Linux: starts one child and returns descriptor number -> link target for every descriptor it holds.</summary>
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
        string stdout = RunToCompletion(start);

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

    /// <summary>Linux: the set of link targets a new child holds.</summary>
    public static HashSet<string> TargetsHeldByNewChild() => DescriptorsOfNewChild().Values.ToHashSet();

    /// <summary>
    /// What this process's descriptor is: on Linux its link target (a path, "socket:[inode]", "pipe:[inode]"), on Windows
    /// its description as ni_handleprobe.exe gives it ("disk \\?\C:\...", "socket 127.0.0.1 50000", "pipe 0").
    /// </summary>
    public static string TargetOf(SafeHandle handle) => OperatingSystem.IsWindows()
        ? WindowsHandles.Describe(handle.DangerousGetHandle())
        : TargetOf((int)handle.DangerousGetHandle());

    public static string TargetOf(int fd) =>
        new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? throw new InvalidOperationException($"descriptor {fd} has no link target");

    /// <summary>Starts one child and tells, for each handle, whether it holds it: the same number (value) and the same target.</summary>
    public static bool[] HeldByNewChild(params SafeHandle[] handles)
    {
        var ours = handles.Select(h => (Value: h.DangerousGetHandle(), Target: TargetOf(h))).ToArray();
        Dictionary<nint, string> child = HandlesOfNewChild(ours.Select(o => o.Value));
        return ours.Select(o => child.TryGetValue(o.Value, out string? seen) && seen == o.Target).ToArray();
    }

    /// <summary>
    /// Starts one child and asserts that it holds none of <paramref name="notInherited"/> and all of
    /// <paramref name="inherited"/> (the negative control; without it the probe proves nothing, so its absence fails).
    /// A control is matched by descriptor number (handle value) and target. On Linux, a handle that must not be
    /// inherited must not appear under any number, so its target must differ from the controls'. On Windows the child
    /// is asked about the values alone (an inherited handle keeps its value), so targets may coincide.
    /// </summary>
    public static void AssertChildHolds(SafeHandle[] notInherited, SafeHandle[] inherited)
    {
        Assert.NotEmpty(inherited);
        if (OperatingSystem.IsWindows())
        {
            AssertWindowsChildHolds(notInherited, inherited);
            return;
        }
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

    private static void AssertWindowsChildHolds(SafeHandle[] notInherited, SafeHandle[] inherited)
    {
        var present = inherited.Select(h => (Value: h.DangerousGetHandle(), Target: TargetOf(h))).ToArray();
        var absent = notInherited.Select(h => (Value: h.DangerousGetHandle(), Target: TargetOf(h))).ToArray();
        Dictionary<nint, string> child = HandlesOfNewChild(present.Concat(absent).Select(p => p.Value));
        string listing = string.Join(", ", child.Select(p => $"0x{p.Key:x}->{p.Value}"));
        foreach ((nint value, string target) in present)
        {
            Assert.True(child.TryGetValue(value, out string? seen) && seen == target,
                $"negative control missing: the child should hold handle 0x{value:x} ({target}); it reports {listing}");
        }
        foreach ((nint value, string target) in absent)
        {
            Assert.False(child.TryGetValue(value, out string? seen) && seen == target,
                $"the child inherited handle 0x{value:x} ({target}); it reports {listing}");
        }
    }

    /// <summary>Starts one child and returns what it holds under each of <paramref name="values"/> ("-": nothing).</summary>
    private static Dictionary<nint, string> HandlesOfNewChild(IEnumerable<nint> values)
    {
        nint[] asked = values.Distinct().ToArray();
        if (!OperatingSystem.IsWindows())
        {
            Dictionary<int, string> descriptors = DescriptorsOfNewChild();
            return asked.ToDictionary(v => v, v => descriptors.TryGetValue((int)v, out string? target) ? target : "-");
        }

        var start = new ProcessStartInfo(ChildPrograms.Probe)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8, // the probe writes UTF-8, whatever the console code page
        };
        foreach (nint value in asked)
            start.ArgumentList.Add($"0x{value:x}");
        string stdout = RunToCompletion(start);

        // One line per value asked about, "<value as given> <description>", in order.
        string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == asked.Length, $"the handle probe answered {lines.Length} of {asked.Length} values: {stdout}");
        var held = new Dictionary<nint, string>();
        for (int i = 0; i < asked.Length; i++)
        {
            string prefix = $"0x{asked[i]:x} ";
            Assert.True(lines[i].StartsWith(prefix, StringComparison.Ordinal), $"unexpected handle probe line '{lines[i]}' for 0x{asked[i]:x}");
            held[asked[i]] = lines[i][prefix.Length..];
        }
        return held;
    }

    private static string RunToCompletion(ProcessStartInfo start)
    {
        using Process child = Process.Start(start) ?? throw new InvalidOperationException("the child did not start");
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        stderr.Wait();
        Assert.True(child.ExitCode == 0, $"probe child exited with {child.ExitCode}: {stderr.Result}");
        return stdout;
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

    /// <summary>
    /// Describes a handle of this process exactly as ni_describe.c (ni_test_describe_handle) does in the child, so that equal
    /// text means the same object: "-" if there is no such handle, "socket &lt;host&gt; &lt;port&gt;" for a socket with a local
    /// address (asked first: GetFileType calls a socket a pipe), then by GetFileType "disk &lt;final path&gt;",
    /// "pipe &lt;bytes waiting&gt;" (or "pipe" where it cannot be peeked), "char" or "other".
    /// </summary>
    private static class WindowsHandles
    {
        private const int PathMax = 4096; // NI_TEST_PATH_MAX on Windows
        private const uint FileTypeDisk = 1, FileTypeChar = 2, FileTypePipe = 3;

        public static string Describe(nint handle)
        {
            if (!GetHandleInformation(handle, out _))
                return "-";
            if (SocketAddress(handle) is string local)
                return "socket " + local;
            switch (GetFileType(handle))
            {
                case FileTypeDisk:
                {
                    var path = new char[PathMax];
                    uint n = GetFinalPathNameByHandleW(handle, path, PathMax, 0 /* FILE_NAME_NORMALIZED */);
                    return "disk " + (n == 0 || n >= PathMax ? "?" : new string(path, 0, (int)n));
                }
                case FileTypePipe:
                    return PeekNamedPipe(handle, 0, 0, 0, out uint available, 0) ? $"pipe {available}" : "pipe";
                case FileTypeChar:
                    return "char";
                default:
                    return "other";
            }
        }

        /// <summary>"&lt;host&gt; &lt;port&gt;" of the socket's local address, numeric, as getnameinfo gives it; null if none.</summary>
        private static string? SocketAddress(nint handle)
        {
            byte[] address = new byte[128]; // sizeof(struct sockaddr_storage)
            int length = address.Length;
            byte[] host = new byte[1025], service = new byte[32]; // NI_MAXHOST, NI_MAXSERV
            const int NumericHost = 0x02, NumericService = 0x08;
            if (getsockname(handle, address, ref length) != 0 ||
                getnameinfo(address, length, host, host.Length, service, service.Length, NumericHost | NumericService) != 0)
                return null;
            return $"{CString(host)} {CString(service)}";
        }

        private static string CString(byte[] bytes) => Encoding.ASCII.GetString(bytes, 0, Array.IndexOf(bytes, (byte)0) is int end and >= 0 ? end : bytes.Length);

        [DllImport("kernel32", SetLastError = true)]
        private static extern bool GetHandleInformation(nint handle, out uint flags);

        [DllImport("kernel32")]
        private static extern uint GetFileType(nint handle);

        [DllImport("kernel32", CharSet = CharSet.Unicode, SetLastError = true)]
        private static extern uint GetFinalPathNameByHandleW(nint handle, [Out] char[] path, uint size, uint flags);

        [DllImport("kernel32", SetLastError = true)]
        private static extern bool PeekNamedPipe(nint pipe, nint buffer, uint size, nint read, out uint available, nint left);

        [DllImport("ws2_32")]
        private static extern int getsockname(nint socket, [Out] byte[] address, ref int length);

        [DllImport("ws2_32")]
        private static extern int getnameinfo(byte[] address, int length, [Out] byte[] host, int hostLength, [Out] byte[] service,
            int serviceLength, int flags);
    }
}

/// <summary>
/// Tests that start probe children run alone, not beside other test classes. A child inherits every handle that is
/// inheritable when it starts, other tests' too (FileShare.Inheritable cases), and on Windows an inherited handle keeps
/// its share mode in the child: a test that closed its FileShare.None handle could find its file still "in use by another
/// process" until the child exits (seen under wine: a sharing violation reading the file back). On Unix the lock is
/// released before close (as the BCL does), so a child's copy does not hold it.
/// </summary>
[CollectionDefinition(nameof(ChildProbeCollection), DisableParallelization = true)]
public sealed class ChildProbeCollection;
