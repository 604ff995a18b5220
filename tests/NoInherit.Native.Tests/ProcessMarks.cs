using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;

namespace NoInherit.Native.Tests;

/// <summary>
/// Linux: finds processes by a mark in their environment (NAME=value, which every descendant inherits unless it clears
/// its environment), so that a test finds every process of a tree it started, those handed to init included, and the
/// suite finds what its tests left behind (<see cref="LeftoverCheck"/>).
/// </summary>
internal static class ProcessMarks
{
    /// <summary>The pids of the live (not zombie) processes whose environment holds <paramref name="name"/>=<paramref name="value"/>.</summary>
    internal static List<int> Find(string name, string value)
    {
        byte[] mark = Encoding.UTF8.GetBytes($"{name}={value}\0");
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
                continue;
            try
            {
                byte[] environment = EnvironmentOf(pid);
                if (environment.AsSpan().IndexOf(mark) >= 0 && !ChildPrograms.IsGone(pid))
                    found.Add(pid);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // gone meanwhile, or not ours to read
            }
        }
        return found;
    }

    /// <summary>
    /// /proc/PID/environ. A process in the middle of an exec shows an empty one (its old memory is gone, the new one has
    /// no environment yet: about 1 read in 200 right after a fork, here), so an empty read is made again for up to
    /// 100 ms, unless the process is a zombie or a kernel thread (PF_KTHREAD in stat's field 9), which never has one.
    /// </summary>
    private static byte[] EnvironmentOf(int pid)
    {
        const long KernelThread = 0x00200000;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            byte[] environment = File.ReadAllBytes($"/proc/{pid}/environ");
            if (environment.Length > 0 || clock.ElapsedMilliseconds > 100)
                return environment;
            string[] stat = ChildPrograms.StatFields(pid);
            if (stat[2] == "Z" || (long.Parse(stat[8]) & KernelThread) != 0)
                return environment;
            Thread.Sleep(1);
        }
    }

    /// <summary>What <paramref name="pid"/> runs, for messages.</summary>
    internal static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "(gone)";
        }
    }

    /// <summary>Sends SIGKILL to each of <paramref name="pids"/> (cleaning up after a test), ignoring those gone.</summary>
    internal static void Kill(IEnumerable<int> pids)
    {
        foreach (int pid in pids)
        {
            try
            {
                using Process p = Process.GetProcessById(pid);
                p.Kill();
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        }
    }

    /// <summary>Waits up to <paramref name="milliseconds"/> for <see cref="Find"/> to find nothing; what is left then.</summary>
    internal static List<int> GoneWithin(string name, string value, int milliseconds)
    {
        var clock = Stopwatch.StartNew();
        List<int> left;
        while ((left = Find(name, value)).Count > 0 && clock.ElapsedMilliseconds < milliseconds)
            Thread.Sleep(50);
        return left;
    }
}
