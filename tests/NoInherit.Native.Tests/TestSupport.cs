using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native.Tests;

/// <summary>A uniquely named directory under <see cref="Path.GetTempPath"/>, removed (with its contents) on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        FullPath = Path.Combine(Path.GetTempPath(), "noinherit-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(FullPath);
    }

    public string FullPath { get; }

    public string Combine(params string[] parts) => Path.Combine([FullPath, .. parts]);

    /// <summary>Removes everything inside the directory, so that a fixture can be laid out again.</summary>
    public void Clear()
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(FullPath))
        {
            MakeDeletable(entry);
            if (Directory.Exists(entry) && (File.GetAttributes(entry) & FileAttributes.ReparsePoint) == 0)
                Directory.Delete(entry, recursive: true);
            else
                File.Delete(entry);
        }
    }

    /// <summary>
    /// Windows refuses to delete a read-only file (the ReadOnlyFile fixtures make them): clear the attribute first, in
    /// <paramref name="path"/> and everything under it. Unix deletes them as they are.
    /// </summary>
    private static void MakeDeletable(string path)
    {
        if (!OperatingSystem.IsWindows())
            return;
        var entries = new List<string> { path };
        if (Directory.Exists(path))
            entries.AddRange(Directory.EnumerateFileSystemEntries(path, "*",
                new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint }));
        foreach (string entry in entries)
        {
            FileAttributes attributes = File.GetAttributes(entry);
            if ((attributes & FileAttributes.ReadOnly) != 0)
                File.SetAttributes(entry, attributes & ~FileAttributes.ReadOnly);
        }
    }

    public void Dispose()
    {
        try
        {
            MakeDeletable(FullPath);
            Directory.Delete(FullPath, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Turns the outcome of an operation (its result, or the exception it threw) into a comparable text.</summary>
internal static class Outcome
{
    public static string Of(Action action)
    {
        try
        {
            action();
            return "ok";
        }
        catch (Exception e)
        {
            return Describe(e);
        }
    }

    public static string Of(Func<string> action)
    {
        try
        {
            return "ok: " + action();
        }
        catch (Exception e)
        {
            return Describe(e);
        }
    }

    /// <summary>Asserts that the library did what the BCL did, showing both in full when not.</summary>
    public static void AssertSame(string bcl, string ours)
    {
        if (bcl == ours)
            return;
        Xunit.Assert.Fail($"The library differs from the BCL.\n--- BCL:\n{bcl}\n--- library:\n{ours}");
    }

    /// <summary>Type, message, HResult, ParamName, SocketErrorCode and inner exception: everything a caller can branch on.</summary>
    public static string Describe(Exception e)
    {
        var text = new StringBuilder();
        text.Append("threw ").Append(e.GetType().FullName).Append(": ").Append(e.Message).Append(" [HResult=").Append(e.HResult).Append(']');
        if (e is ArgumentException argument)
            text.Append(" [ParamName=").Append(argument.ParamName ?? "<null>").Append(']');
        if (e is SocketException socket)
            text.Append(" [SocketErrorCode=").Append(socket.SocketErrorCode).Append(", ErrorCode=").Append(socket.ErrorCode).Append(']');
        if (e is FileNotFoundException notFound)
            text.Append(" [FileName=").Append(notFound.FileName ?? "<null>").Append(']');
        if (e.InnerException is Exception inner)
            text.Append(" [Inner=").Append(Describe(inner)).Append(']');
        return text.ToString();
    }
}

/// <summary>What can be seen of paths and descriptors from the outside: the state a differential test compares.</summary>
internal static class Observe
{
    /// <summary>Kind, length, content and permission bits of whatever is at <paramref name="path"/> now.</summary>
    public static string PathState(string path) => PathState(path, depth: 0);

    private static string PathState(string path, int depth)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is string target)
        {
            // A loop (or a chain longer than the kernel follows, 40) is a state of its own.
            if (depth >= 40)
                return "a symlink chain too long to follow";
            string targetPath = Path.IsPathRooted(target) ? target : Path.Combine(Path.GetDirectoryName(path)!, target);
            return $"symlink to {target}, which is: {PathState(targetPath, depth + 1)}";
        }
        if (Directory.Exists(path))
            return $"directory ({Directory.EnumerateFileSystemEntries(path).Count()} entries)";
        if (!File.Exists(path))
            return "missing";
        byte[] content = File.ReadAllBytes(path);
        string mode = OperatingSystem.IsWindows() ? "" : $", mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}";
        return $"file, {content.Length} bytes, fnv1a64 {Fnv1a64(content):x16}{mode}";
    }

    /// <summary>
    /// A content fingerprint (64-bit FNV-1a) computed here rather than with SHA256, which needs OpenSSL on Linux: the
    /// linux-arm64 run under qemu has no arm64 libssl, and the runtime aborts the process when it cannot load one.
    /// </summary>
    private static ulong Fnv1a64(byte[] content)
    {
        ulong hash = 14695981039346656037;
        foreach (byte b in content)
            hash = (hash ^ b) * 1099511628211;
        return hash;
    }

    /// <summary>The open-file flags of a descriptor (access mode, O_APPEND, O_SYNC, O_CLOEXEC, ...) as /proc reports them.</summary>
    public static string DescriptorFlags(SafeHandle handle)
    {
        if (!OperatingSystem.IsLinux())
            return "n/a";
        string info = File.ReadAllText($"/proc/self/fdinfo/{handle.DangerousGetHandle()}");
        string line = info.Split('\n').First(l => l.StartsWith("flags:", StringComparison.Ordinal));
        return line["flags:".Length..].Trim();
    }

    /// <summary>Link targets of all descriptors this process holds (Linux only; empty elsewhere).</summary>
    public static List<string> OwnDescriptorTargets()
    {
        var targets = new List<string>();
        if (!OperatingSystem.IsLinux())
            return targets;
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(entry).LinkTarget is string target)
                    targets.Add(target);
            }
            catch (IOException)
            {
                // closed between listing and reading
            }
        }
        return targets;
    }

    /// <summary>Fails if this process still holds a descriptor on <paramref name="path"/> (or on anything under it).</summary>
    public static void AssertNoDescriptorOn(string path)
    {
        string[] leaked = OwnDescriptorTargets()
            .Where(t => t == path || t == path + " (deleted)" || t.StartsWith(path + "/", StringComparison.Ordinal))
            .ToArray();
        if (leaked.Length != 0)
            Xunit.Assert.Fail($"descriptors left open on {path}: {string.Join(", ", leaked)}");
    }
}

/// <summary>The few libc (and, on Windows, kernel32) calls the fixtures need and .NET does not offer.</summary>
internal static partial class Libc
{
    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, uint mode);

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string newPath);

    public static void MakeFifo(string path)
    {
        if (MkFifo(path, 0x180 /* 0600 */) != 0)
            throw new IOException($"mkfifo {path}: errno {Marshal.GetLastPInvokeError()}");
    }

    [DllImport("kernel32", EntryPoint = "CreateHardLinkW", CharSet = CharSet.Unicode, SetLastError = true)]
    private static extern bool CreateHardLink(string newPath, string existing, nint securityAttributes);

    public static void HardLink(string existing, string newPath)
    {
        if (OperatingSystem.IsWindows())
        {
            if (!CreateHardLink(newPath, existing, 0))
                throw new IOException($"CreateHardLinkW {existing} {newPath}: error {Marshal.GetLastPInvokeError()}");
            return;
        }
        if (Link(existing, newPath) != 0)
            throw new IOException($"link {existing} {newPath}: errno {Marshal.GetLastPInvokeError()}");
    }
}

/// <summary>What a call allocates, for the tests that compare it with the BCL's.</summary>
internal static class Allocations
{
    /// <summary>
    /// The bytes <paramref name="call"/> allocates on the calling thread, averaged over <paramref name="calls"/> calls made
    /// after <paramref name="warmUp"/> others (the JIT's tiers, pools and caches filled). Deterministic enough to compare
    /// with another call measured the same way; not a timing.
    /// </summary>
    public static long PerCall(Action call, int warmUp = 20, int calls = 50)
    {
        for (int i = 0; i < warmUp; i++)
            call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < calls; i++)
            call();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
    }
}
