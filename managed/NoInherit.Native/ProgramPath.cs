using System;
using System.IO;

namespace NoInherit.Native;

/// <summary>
/// Unix: the program a <see cref="System.Diagnostics.ProcessStartInfo.FileName"/> names, found as Process.Start finds it
/// (ni_spawn executes a path as given; Windows leaves the search to CreateProcessW).
/// </summary>
internal static class ProgramPath
{
    /// <summary>
    /// A rooted path as is; a path with a directory, relative to the current directory; a bare name in this program's
    /// directory, the current directory, then each PATH entry (there, only an executable file). Null when not found.
    /// </summary>
    internal static string? Resolve(string fileName)
    {
        if (Path.IsPathRooted(fileName))
            return fileName;
        if (fileName.Contains('/'))
            return Path.GetFullPath(fileName);
        string? exeDirectory = Path.GetDirectoryName(Environment.ProcessPath);
        if (!string.IsNullOrEmpty(exeDirectory))
        {
            string candidate = Path.Combine(exeDirectory, fileName);
            if (File.Exists(candidate))
                return candidate;
        }
        string inCurrent = Path.Combine(Directory.GetCurrentDirectory(), fileName);
        if (File.Exists(inCurrent))
            return inCurrent;
        string? pathVariable = Environment.GetEnvironmentVariable("PATH");
        if (pathVariable != null)
        {
            foreach (string directory in pathVariable.Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = Path.Combine(directory, fileName);
                if (File.Exists(candidate) && IsExecutable(candidate))
                    return candidate;
            }
        }
        return null;
    }

    private static bool IsExecutable(string path)
    {
        if (OperatingSystem.IsWindows())
            return true;
        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}
