using System;
using System.Globalization;
using System.IO;
using NoInherit.Native.Tests;

// soak [--duration SECONDS] [--threads N] [--dir PATH]: mixed operations from N threads with children starting
// throughout, then the figures; exit code 0 when nothing leaked, nothing was lost and nothing failed.
int seconds = 60, threads = Math.Max(4, Environment.ProcessorCount * 2);
string dir = Path.Combine(Path.GetTempPath(), "noinherit-soak-" + Environment.ProcessId);
for (int i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--duration": seconds = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--threads": threads = int.Parse(Value(), CultureInfo.InvariantCulture); break;
        case "--dir": dir = Value(); break;
        default:
            Console.Error.WriteLine("usage: soak [--duration SECONDS] [--threads N] [--dir PATH]");
            return 2;
    }
}
if (!OperatingSystem.IsLinux())
{
    Console.Error.WriteLine("the soak counts /proc/self/fd and starts /bin/sh children: Linux only");
    return 2;
}
try
{
    SoakReport report = Soak.Run(TimeSpan.FromSeconds(seconds), threads, dir, Console.Out);
    Console.Write(report);
    bool clean = report.Failures.Count == 0 && report.DataLost == 0 && report.LeakedIntoChildren == 0
        && report.DescriptorsEnd == report.DescriptorsStart;
    Console.WriteLine(clean ? "soak: clean" : "soak: PROBLEMS");
    return clean ? 0 : 1;
}
finally
{
    Directory.Delete(dir, recursive: true);
}
