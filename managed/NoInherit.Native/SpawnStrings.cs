using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace NoInherit.Native;

/// <summary>
/// The strings of <see cref="SpawnArguments"/> as ni_spawn takes them: path, argv, envp ("name=value" for each variable
/// with a value) and cwd as NUL-terminated UTF-8, argv and envp as NULL-terminated arrays, all in one native block
/// (one allocation rather than one per string, and no managed "name=value" strings), freed by <see cref="Dispose"/>.
/// The strings hold no NUL (<see cref="SpawnArguments.From"/> refused them).
/// </summary>
internal unsafe ref struct SpawnStrings
{
    private byte* _block;

    internal byte* Path { get; private set; }
    internal byte** Argv { get; private set; }
    internal byte** Envp { get; private set; }
    internal byte* Cwd { get; private set; }

    internal static SpawnStrings From(SpawnArguments arguments)
    {
        KeyValuePair<string, string?>[] environment = SpawnArguments.RentVariables(arguments.Environment, out int count);
        try
        {
            return From(arguments, new ReadOnlySpan<KeyValuePair<string, string?>>(environment, 0, count));
        }
        finally
        {
            SpawnArguments.ReturnVariables(environment, count);
        }
    }

    private static SpawnStrings From(SpawnArguments arguments, ReadOnlySpan<KeyValuePair<string, string?>> environment)
    {
        List<string> argv = arguments.Argv;
        int variables = 0;
        long bytes = 0;
        foreach (string arg in argv)
            bytes += Encoding.UTF8.GetByteCount(arg) + 1;
        foreach (KeyValuePair<string, string?> pair in environment)
        {
            if (pair.Value != null)
            {
                variables++;
                bytes += Encoding.UTF8.GetByteCount(pair.Key) + 1 + Encoding.UTF8.GetByteCount(pair.Value) + 1;
            }
        }
        bytes += arguments.Path is null ? 0 : Encoding.UTF8.GetByteCount(arguments.Path) + 1;
        bytes += arguments.WorkingDirectory is null ? 0 : Encoding.UTF8.GetByteCount(arguments.WorkingDirectory) + 1;
        long pointers = (long)(argv.Count + 1 + variables + 1) * sizeof(nint);

        var result = new SpawnStrings { _block = (byte*)NativeMemory.Alloc(checked((nuint)(pointers + bytes))) };
        byte* next = result._block + pointers, end = result._block + pointers + bytes;
        result.Argv = (byte**)result._block;
        result.Envp = result.Argv + argv.Count + 1;
        for (int i = 0; i < argv.Count; i++)
            result.Argv[i] = Put(argv[i], 0, ref next, end);
        result.Argv[argv.Count] = null;
        int v = 0;
        foreach (KeyValuePair<string, string?> pair in environment)
        {
            if (pair.Value != null)
            {
                result.Envp[v++] = Put(pair.Key, (byte)'=', ref next, end);
                Put(pair.Value, 0, ref next, end);
            }
        }
        result.Envp[v] = null;
        result.Path = arguments.Path is null ? null : Put(arguments.Path, 0, ref next, end);
        result.Cwd = arguments.WorkingDirectory is null ? null : Put(arguments.WorkingDirectory, 0, ref next, end);
        return result;
    }

    // Writes s and the terminator; returns where s starts.
    private static byte* Put(string s, byte terminator, ref byte* next, byte* end)
    {
        byte* start = next;
        next += Encoding.UTF8.GetBytes(s, new Span<byte>(next, checked((int)(end - next))));
        *next++ = terminator;
        return start;
    }

    public void Dispose()
    {
        NativeMemory.Free(_block);
        _block = null;
    }
}
