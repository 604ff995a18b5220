using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace NoInherit.Native;

public static partial class Inheritance
{
    /// <summary>
    /// Lists every descriptor of this process that a child started now would inherit, with what it refers to and
    /// why. Linux reads /proc/self/fd; other POSIX systems ask every descriptor number; Windows every handle value.
    /// </summary>
    /// <returns>The inheritable descriptors, lowest number first.</returns>
    public static IReadOnlyList<InheritableHandle> Audit()
    {
        var result = new List<InheritableHandle>();
        foreach (Interop.HandleInfo info in ListHandles())
        {
            if (info.Inheritable == 0)
                continue;
            string target = Describe(info.Handle, out HandleKind kind);
            result.Add(new InheritableHandle(info.Handle, kind, target, ReasonFor(info.Handle)));
        }
        result.Sort((a, b) => a.Handle.CompareTo(b.Handle));
        return result;
    }

    /// <summary>
    /// Lists the inheritable descriptors of another process, from /proc/&lt;pid&gt;/fd and /proc/&lt;pid&gt;/fdinfo.
    /// Sockets are shown with their addresses where /proc/&lt;pid&gt;/net knows them.
    /// </summary>
    /// <param name="processId">The process to look at; reading another user's process needs the privileges /proc asks for.</param>
    /// <returns>The inheritable descriptors, lowest number first.</returns>
    /// <exception cref="PlatformNotSupportedException">Not Linux.</exception>
    /// <exception cref="ArgumentException">No such process.</exception>
    /// <exception cref="UnauthorizedAccessException">Not allowed to read its descriptors.</exception>
    public static IReadOnlyList<InheritableHandle> Audit(int processId)
    {
        if (!OperatingSystem.IsLinux())
            throw new PlatformNotSupportedException("Auditing another process reads /proc/<pid>/fd, which only Linux has.");
        string fdDirectory = $"/proc/{processId}/fd";
        if (!System.IO.Directory.Exists($"/proc/{processId}"))
            throw new ArgumentException($"There is no process with id {processId}.", nameof(processId));
        Dictionary<string, string>? sockets = null;
        var result = new List<InheritableHandle>();
        foreach (string entry in System.IO.Directory.EnumerateFileSystemEntries(fdDirectory))
        {
            if (!int.TryParse(Path.GetFileName(entry), NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
                continue;
            string? target;
            string? fdinfo;
            try
            {
                target = new FileInfo(entry).LinkTarget;
                fdinfo = File.ReadAllText($"/proc/{processId}/fdinfo/{fd}");
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                continue; // closed while we looked
            }
            if (target is null || IsCloseOnExec(fdinfo))
                continue;
            HandleKind kind = KindOfLink(target);
            if (kind == HandleKind.Socket)
            {
                sockets ??= ProcNetSockets(processId);
                if (sockets.TryGetValue(target, out string? address))
                    target = $"{address} {target}";
            }
            result.Add(new InheritableHandle(fd, kind, target, ReasonFor(fd)));
        }
        result.Sort((a, b) => a.Handle.CompareTo(b.Handle));
        return result;
    }

    /// <summary>
    /// Makes every descriptor of this process non-inheritable except the standard streams (0, 1, 2; the standard
    /// handles on Windows) and <paramref name="keep"/>, without closing anything. Linux uses close_range with
    /// CLOSE_RANGE_CLOEXEC where the kernel has it, else the /proc/self/fd walk.
    /// </summary>
    /// <param name="keep">Further descriptors to leave as they are (numbers, or HANDLE values on Windows).</param>
    /// <returns>How many descriptors were inheritable and are not any more.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A number in <paramref name="keep"/> is negative.</exception>
    public static unsafe int Seal(params int[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        nint[] handles = new nint[keep.Length];
        for (int i = 0; i < keep.Length; i++)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(keep[i], nameof(keep));
            handles[i] = keep[i];
        }
        int error, changed;
        fixed (nint* pointer = handles)
            error = Interop.Seal(pointer, handles.Length, out changed);
        if (error != 0)
            throw Errors.ForHandle(error);
        return changed;
    }

    private static unsafe Interop.HandleInfo[] ListHandles()
    {
        int capacity = 256;
        while (true)
        {
            var buffer = new Interop.HandleInfo[capacity];
            int error, count;
            fixed (Interop.HandleInfo* pointer = buffer)
                error = Interop.ListHandles(pointer, capacity, out count);
            if (error != 0)
                throw Errors.ForHandle(error);
            if (count <= capacity)
                return buffer[..count];
            capacity = count + 64; // more opened meanwhile: ask again with room to spare
        }
    }

    private static unsafe string Describe(nint handle, out HandleKind kind)
    {
        byte* buffer = stackalloc byte[1024];
        if (Interop.Describe(handle, buffer, 1024, out kind) != 0)
        {
            kind = HandleKind.Other;
            return string.Empty; // closed while we looked
        }
        return Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;
    }

    private static string ReasonFor(long handle)
    {
        string flag = OperatingSystem.IsWindows() ? "HANDLE_FLAG_INHERIT is set" : "close-on-exec (FD_CLOEXEC) is not set";
        return handle is >= 0 and <= 2 && !OperatingSystem.IsWindows() ? $"{flag}; a standard stream" : flag;
    }

    // O_CLOEXEC in the octal "flags:" line of /proc/<pid>/fdinfo/<fd> (02000000 on the Linux architectures .NET runs on).
    private static bool IsCloseOnExec(string fdinfo)
    {
        foreach (string line in fdinfo.Split('\n'))
        {
            if (line.StartsWith("flags:", StringComparison.Ordinal))
                return (Convert.ToInt64(line["flags:".Length..].Trim(), 8) & 0x80000) != 0;
        }
        return false;
    }

    private static HandleKind KindOfLink(string target)
    {
        if (target.StartsWith("socket:[", StringComparison.Ordinal)) return HandleKind.Socket;
        if (target.StartsWith("pipe:[", StringComparison.Ordinal)) return HandleKind.Pipe;
        if (!target.StartsWith('/')) return HandleKind.Other;
        if (System.IO.Directory.Exists(target)) return HandleKind.Directory;
        if (target.StartsWith("/dev/", StringComparison.Ordinal)) return HandleKind.CharacterDevice;
        return HandleKind.RegularFile;
    }

    // "socket:[inode]" -> "tcp 127.0.0.1:80 -> 10.0.0.1:5000" from the process's view of /proc/net.
    private static Dictionary<string, string> ProcNetSockets(int processId)
    {
        var sockets = new Dictionary<string, string>();
        foreach (string protocol in new[] { "tcp", "tcp6", "udp", "udp6" })
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines($"/proc/{processId}/net/{protocol}");
            }
            catch (IOException)
            {
                continue;
            }
            foreach (string line in lines.Skip(1))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length < 10)
                    continue;
                string local = ProcAddress(fields[1]), remote = ProcAddress(fields[2]);
                string text = remote.EndsWith(":0", StringComparison.Ordinal) && protocol.StartsWith("tcp", StringComparison.Ordinal)
                    ? $"{protocol} {local} (listening)"
                    : $"{protocol} {local} -> {remote}";
                sockets[$"socket:[{fields[9]}]"] = text;
            }
        }
        return sockets;
    }

    // "0100007F:1F90" (IPv4) or 32 hex digits (IPv6), each 32-bit word in host (little-endian) order.
    private static string ProcAddress(string field)
    {
        int colon = field.IndexOf(':');
        string hex = field[..colon];
        int port = int.Parse(field[(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        byte[] bytes = new byte[hex.Length / 2];
        for (int word = 0; word < bytes.Length / 4; word++)
        {
            uint value = uint.Parse(hex.AsSpan(word * 8, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            BitConverter.TryWriteBytes(bytes.AsSpan(word * 4, 4), value);
        }
        var address = new IPAddress(bytes);
        return bytes.Length == 16 ? $"[{address}]:{port}" : $"{address}:{port}";
    }
}
