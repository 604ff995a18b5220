using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;

namespace NoInherit.Native;

/// <summary>
/// What ni_spawn receives for a <see cref="ProcessStartInfo"/>: the program, argv, environment, working directory and
/// flags, checked as Process.Start checks them, before anything is created. The handles the child gets are
/// <see cref="HandleMappings"/>.
/// </summary>
internal sealed class SpawnArguments
{
    private SpawnArguments(ProcessStartInfo startInfo, string? path, List<string> argv, Interop.SpawnFlags flags)
    {
        FileName = startInfo.FileName;
        Path = path;
        Argv = argv;
        Environment = startInfo.Environment;
        WorkingDirectory = WorkingDirectoryOf(startInfo);
        Flags = flags;
    }

    /// <summary>FileName as given: argv[0].</summary>
    internal string FileName { get; }

    /// <summary>The program as Process.Start's messages name it: the path found (Unix), else FileName as given.</summary>
    internal string ProgramForMessages => Path ?? FileName;

    /// <summary>The program to execute; null on Windows, where CreateProcessW searches for argv[0] as Process.Start does.</summary>
    internal string? Path { get; }

    /// <summary>argv, argv[0] first.</summary>
    internal List<string> Argv { get; }

    /// <summary>The child's environment (a variable with a null value is left out).</summary>
    internal IDictionary<string, string?> Environment { get; set; }

    /// <summary>The child's working directory; null: this process's.</summary>
    internal string? WorkingDirectory { get; }

    /// <summary>The working directory as Process.Start's messages name it.</summary>
    internal string WorkingDirectoryForMessages => WorkingDirectory ?? Directory.GetCurrentDirectory();

    private static string? WorkingDirectoryOf(ProcessStartInfo startInfo) =>
        string.IsNullOrEmpty(startInfo.WorkingDirectory) ? null : startInfo.WorkingDirectory;

    internal Interop.SpawnFlags Flags { get; set; }

    /// <summary>Checks <paramref name="startInfo"/> and translates it, finding the program on Unix.</summary>
    /// <exception cref="InvalidOperationException">No FileName, or both Arguments and ArgumentList (Process.Start's messages).</exception>
    /// <exception cref="NotSupportedException">A property ChildProcess cannot honour is set.</exception>
    /// <exception cref="ArgumentException">A string contains a NUL character.</exception>
    /// <exception cref="System.ComponentModel.Win32Exception">Unix: the program is not found, or is a directory.</exception>
    internal static SpawnArguments From(ProcessStartInfo startInfo)
    {
        if (string.IsNullOrEmpty(startInfo.FileName))
            throw new InvalidOperationException("Cannot start process because a file name has not been provided.");
        if (startInfo.ArgumentList.Count > 0 && !string.IsNullOrEmpty(startInfo.Arguments))
            throw new InvalidOperationException("Only one of Arguments or ArgumentList may be used.");
        ThrowIfUnsupported(startInfo);
        ThrowIfNulCharacter(startInfo);

        // Windows passes the Arguments string to CreateProcessW as it is; POSIX splits it, and resets SIGPIPE (below).
        Interop.SpawnFlags flags = Interop.SpawnFlags.SPAWN_INHERIT_STDIO;
        if (startInfo.CreateNoWindow)
            flags |= Interop.SpawnFlags.SPAWN_NO_WINDOW;
        var argv = new List<string>(1 + startInfo.ArgumentList.Count);
        if (OperatingSystem.IsWindows())
        {
            argv.Add(startInfo.FileName);
            if (startInfo.ArgumentList.Count > 0)
            {
                argv.AddRange(startInfo.ArgumentList);
            }
            else if (!string.IsNullOrEmpty(startInfo.Arguments))
            {
                argv.Add(startInfo.Arguments);
                flags |= Interop.SpawnFlags.SPAWN_RAW_ARGUMENTS;
            }
            return new SpawnArguments(startInfo, path: null, argv, flags);
        }

        // argv[0] is FileName as given, as Process.Start passes it (the child's $0, its /proc/<pid>/cmdline, ps).
        string path = ProgramPath.Resolve(startInfo.FileName)
            ?? throw Errors.ForProgramNotFound(startInfo.FileName, WorkingDirectoryOf(startInfo) ?? Directory.GetCurrentDirectory());
        if (Directory.Exists(path))
            throw Errors.ForDirectoryAsProgram();
        argv.Add(startInfo.FileName);
        if (startInfo.ArgumentList.Count > 0)
            argv.AddRange(startInfo.ArgumentList);
        else if (!string.IsNullOrEmpty(startInfo.Arguments))
            CommandLineArguments.Split(startInfo.Arguments, argv);
        return new SpawnArguments(startInfo, path, argv, flags | Interop.SpawnFlags.SPAWN_DEFAULT_SIGPIPE);
    }

    private static void ThrowIfUnsupported(ProcessStartInfo startInfo)
    {
        static NotSupportedException Unsupported(string property) =>
            new($"ProcessStartInfo.{property} is not supported by ChildProcess.Start.");

        if (startInfo.UseShellExecute)
            throw Unsupported(nameof(ProcessStartInfo.UseShellExecute));
        if (!string.IsNullOrEmpty(startInfo.Verb))
            throw Unsupported(nameof(ProcessStartInfo.Verb));
        if (!string.IsNullOrEmpty(startInfo.UserName))
            throw Unsupported(nameof(ProcessStartInfo.UserName));
        if (startInfo.ErrorDialog)
            throw Unsupported(nameof(ProcessStartInfo.ErrorDialog));
        if (startInfo.WindowStyle != ProcessWindowStyle.Normal)
            throw Unsupported(nameof(ProcessStartInfo.WindowStyle));
        if (StartInfoProperties.UseCredentialsForNetworkingOnly(startInfo))
            throw Unsupported("UseCredentialsForNetworkingOnly");
        if (StartInfoProperties.FirstUnknownSet(startInfo) is string unknown)
            throw Unsupported(unknown);
        if (OperatingSystem.IsWindows())
        {
            if (!string.IsNullOrEmpty(startInfo.Domain))
                throw Unsupported("Domain");
            if (startInfo.Password != null)
                throw Unsupported("Password");
            if (!string.IsNullOrEmpty(startInfo.PasswordInClearText))
                throw Unsupported("PasswordInClearText");
            if (startInfo.LoadUserProfile)
                throw Unsupported("LoadUserProfile");
        }
    }

    /// <summary>
    /// The strings reach C as NUL-terminated UTF-8, where a NUL would cut them short ("/bin/true\0junk" would run
    /// /bin/true): refused, as the file APIs refuse a path with a NUL. (Process.Start passes them on cut.)
    /// </summary>
    private static void ThrowIfNulCharacter(ProcessStartInfo startInfo)
    {
        if (HasNul(startInfo.FileName) || HasNul(startInfo.Arguments) || HasNul(startInfo.WorkingDirectory)
            || AnyHasNul(startInfo.ArgumentList) || AnyHasNul(startInfo.Environment))
        {
            throw new ArgumentException("A file name, argument, working directory or environment variable contains a null character.", nameof(startInfo));
        }
    }

    private static bool HasNul(string? s) => s != null && s.Contains('\0');

    // By index, and the environment through a pooled copy (RentVariables): no enumerator allocated per start.
    private static bool AnyHasNul(IList<string> list)
    {
        for (int i = 0; i < list.Count; i++)
        {
            if (HasNul(list[i]))
                return true;
        }
        return false;
    }

    private static bool AnyHasNul(IDictionary<string, string?> environment)
    {
        KeyValuePair<string, string?>[] variables = RentVariables(environment, out int count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                if (HasNul(variables[i].Key) || HasNul(variables[i].Value))
                    return true;
            }
            return false;
        }
        finally
        {
            ReturnVariables(variables, count);
        }
    }

    /// <summary>
    /// The variables of <paramref name="environment"/> in a pooled array, the first <paramref name="count"/> of it: copied
    /// (CopyTo), since enumerating ProcessStartInfo.Environment, the runtime's wrapper of a dictionary, boxes an enumerator
    /// each time. Give it back with <see cref="ReturnVariables"/>.
    /// </summary>
    internal static KeyValuePair<string, string?>[] RentVariables(IDictionary<string, string?> environment, out int count)
    {
        count = environment.Count;
        KeyValuePair<string, string?>[] variables = ArrayPool<KeyValuePair<string, string?>>.Shared.Rent(count);
        environment.CopyTo(variables, 0);
        return variables;
    }

    /// <summary>Gives back an array of <see cref="RentVariables"/>, holding none of its strings any more.</summary>
    internal static void ReturnVariables(KeyValuePair<string, string?>[] variables, int count)
    {
        Array.Clear(variables, 0, count);
        ArrayPool<KeyValuePair<string, string?>>.Shared.Return(variables);
    }
}
