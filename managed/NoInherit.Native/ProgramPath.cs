using System;
using System.IO;

namespace NoInherit.Native;

/// <summary>
/// Unix: the program a <see cref="System.Diagnostics.ProcessStartInfo.FileName"/> names, found as Process.Start finds it
/// (ni_spawn executes a path as given; Windows leaves the search to CreateProcessW). The path found keeps the name as
/// given ("/w/./x" for "./x"), as Process.Start's does.
/// </summary>
internal static class ProgramPath
{
    /// <summary>
    /// Whether a file beside the executable or in the current directory must be executable to be taken, as on PATH:
    /// Process.Start on .NET 11 asks that of every candidate; before, any file that exists there was taken (and failed
    /// with EACCES if it could not be executed). The running runtime decides, as it is the one whose Process.Start the
    /// caller compares with.
    /// </summary>
    private static readonly bool s_everyCandidateExecutable = Environment.Version.Major >= 11;

    /// <summary>
    /// A rooted path as is (whether or not it exists). Any other name, with a directory part or without, is looked for
    /// as Process.Start looks for it: beside this program's executable, then in the current directory (there, any file
    /// that exists, or on .NET 11 only one this process may execute), then in each PATH entry in turn (there, only a
    /// file this process may execute by its permission bits: another entry is tried otherwise). Null when none is found.
    /// </summary>
    internal static string? Resolve(string fileName)
    {
        if (Path.IsPathRooted(fileName))
            return fileName;
        string? processPath = Environment.ProcessPath;
        if (processPath != null)
        {
            try
            {
                string besideExecutable = Path.Combine(Path.GetDirectoryName(processPath)!, fileName);
                if (IsCandidate(besideExecutable))
                    return besideExecutable;
            }
            catch (ArgumentException)
            {
                // a path this system cannot take: not found there
            }
        }
        string inCurrent = Path.Combine(Directory.GetCurrentDirectory(), fileName);
        if (IsCandidate(inCurrent))
            return inCurrent;
        string? pathVariable = Environment.GetEnvironmentVariable("PATH");
        if (pathVariable != null)
        {
            foreach (string directory in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                string candidate = Path.Combine(directory, fileName);
                if (CanExecute(candidate))
                    return candidate;
            }
        }
        return null;
    }

    private static bool IsCandidate(string path) => s_everyCandidateExecutable ? CanExecute(path) : File.Exists(path);

    /// <summary>ni_can_execute: a file (not a directory) with the execute bit of this process's class for it.</summary>
    private static bool CanExecute(string path)
    {
        int error = Interop.CanExecute(path, out int executable);
        return error == 0 && executable != 0;
    }
}
