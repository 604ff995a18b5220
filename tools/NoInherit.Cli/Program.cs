// noinherit audit [--pid N] [--json]
// noinherit exec [--keep 3,4] -- command [args...]
// noinherit record [-o FILE] -- command [args...]   (Record.cs)
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using NoInherit.Native;

return Cli.Run(args);

static class Cli
{
    private const string Usage = """
        usage:
          noinherit audit [--pid N] [--json]
              List the descriptors this process (or process N) would pass to a child it starts now:
              number, kind, what it refers to, and why it is inheritable.
          noinherit exec [--keep 3,4] -- command [args...]
              Make every descriptor but stdio and the kept ones non-inheritable, then run the command
              and exit with its exit code.
        """ + "\n" + Record.Usage;

    public static int Run(string[] args)
    {
        try
        {
            return args.FirstOrDefault() switch
            {
                "audit" => Audit(args[1..]),
                "exec" => Exec(args[1..]),
                "record" => Record.Run(args[1..]),
                "-h" or "--help" or "help" => Help(Console.Out, 0),
                _ => Help(Console.Error, 2),
            };
        }
        catch (Exception e) when (e is ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException
                                      or IOException or System.ComponentModel.Win32Exception)
        {
            Console.Error.WriteLine($"noinherit: {e.Message}");
            return 1;
        }
    }

    private static int Help(TextWriter writer, int exitCode)
    {
        writer.WriteLine(Usage);
        return exitCode;
    }

    private static int Audit(string[] args)
    {
        int? pid = null;
        bool json = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--json": json = true; break;
                case "--pid" when i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out int value):
                    pid = value;
                    i++;
                    break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' for audit");
            }
        }
        IReadOnlyList<InheritableHandle> handles = pid is int id ? Inheritance.Audit(id) : Inheritance.Audit();
        if (json)
            WriteJson(handles, pid ?? Environment.ProcessId);
        else
            WriteTable(handles, pid ?? Environment.ProcessId);
        return 0;
    }

    private static void WriteTable(IReadOnlyList<InheritableHandle> handles, int pid)
    {
        Console.WriteLine($"process {pid}: {handles.Count} inheritable descriptor{(handles.Count == 1 ? "" : "s")}");
        if (handles.Count == 0)
            return;
        Console.WriteLine($"{"FD",6}  {"KIND",-15}  {"TARGET",-50}  REASON");
        foreach (InheritableHandle h in handles)
            Console.WriteLine($"{h.Handle,6}  {h.Kind,-15}  {h.Target,-50}  {h.Reason}");
    }

    private static void WriteJson(IReadOnlyList<InheritableHandle> handles, int pid)
    {
        using var json = new Utf8JsonWriter(Console.OpenStandardOutput(), new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteNumber("pid", pid);
        json.WriteStartArray("inheritable");
        foreach (InheritableHandle h in handles)
        {
            json.WriteStartObject();
            json.WriteNumber("fd", h.Handle);
            json.WriteString("kind", h.Kind.ToString());
            json.WriteString("target", h.Target);
            json.WriteString("reason", h.Reason);
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        Console.WriteLine();
    }

    private static int Exec(string[] args)
    {
        var keep = new List<int>();
        int i = 0;
        for (; i < args.Length && args[i] != "--"; i++)
        {
            if (args[i] == "--keep" && i + 1 < args.Length)
            {
                foreach (string part in args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int fd))
                        throw new ArgumentException($"'{part}' is not a descriptor number");
                    keep.Add(fd);
                }
            }
            else
            {
                throw new ArgumentException($"unknown argument '{args[i]}' for exec (the command follows --)");
            }
        }
        if (i + 1 >= args.Length)
            throw new ArgumentException("no command: noinherit exec [--keep 3,4] -- command [args...]");

        Inheritance.Seal(keep.ToArray());
        var start = new ProcessStartInfo(args[i + 1]) { UseShellExecute = false };
        foreach (string argument in args[(i + 2)..])
            start.ArgumentList.Add(argument);
        using Process child = Process.Start(start)!;
        child.WaitForExit();
        return child.ExitCode;
    }
}
