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
    /// A rooted path as is (whether or not it exists). Any other name, with a directory part or without, is looked for
    /// as Process.Start looks for it: beside this program's executable, then in the current directory (there, any file
    /// that exists), then in each PATH entry in turn (there, only a file this process may execute by its permission
    /// bits: another entry is tried otherwise). Null when none is found.
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
                if (File.Exists(besideExecutable))
                    return besideExecutable;
            }
            catch (ArgumentException)
            {
                // a path this system cannot take: not found there
            }
        }
        string inCurrent = Path.Combine(Directory.GetCurrentDirectory(), fileName);
        if (File.Exists(inCurrent))
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

    /// <summary>ni_can_execute: a file (not a directory) with the execute bit of this process's class for it.</summary>
    private static bool CanExecute(string path)
    {
        int error = Interop.CanExecute(path, out int executable);
        return error == 0 && executable != 0;
    }
}
