using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// The pipes for the Redirect* properties of a <see cref="ProcessStartInfo"/>, both ends non-inheritable: the child's end
/// is mapped to 0, 1 or 2 and closed here once the child has it (ours would keep the pipe from reaching end-of-file);
/// our end becomes <see cref="ChildProcess.StandardInput"/>, <see cref="ChildProcess.StandardOutput"/> or
/// <see cref="ChildProcess.StandardError"/>, with the start info's encoding, as Process makes them.
/// </summary>
internal sealed class RedirectedStreams : IDisposable
{
    private SafeFileHandle? _input, _output, _error; // our ends, until taken
    private SafeFileHandle? _childInput, _childOutput, _childError;

    private RedirectedStreams()
    {
    }

    /// <summary>Creates the pipes <paramref name="startInfo"/> asks for and maps the child's ends.</summary>
    internal static RedirectedStreams Create(ProcessStartInfo startInfo, HandleMappings mappings)
    {
        var streams = new RedirectedStreams();
        try
        {
            if (startInfo.RedirectStandardInput)
                NoInheritFile.CreateAnonymousPipe(out streams._childInput, out streams._input);
            if (startInfo.RedirectStandardOutput)
                NoInheritFile.CreateAnonymousPipe(out streams._output, out streams._childOutput);
            if (startInfo.RedirectStandardError)
                NoInheritFile.CreateAnonymousPipe(out streams._error, out streams._childError);
            if (streams._childInput != null)
                mappings.Add(streams._childInput, 0, nameof(startInfo));
            if (streams._childOutput != null)
                mappings.Add(streams._childOutput, 1, nameof(startInfo));
            if (streams._childError != null)
                mappings.Add(streams._childError, 2, nameof(startInfo));
        }
        catch
        {
            streams.Dispose();
            throw;
        }
        return streams;
    }

    /// <summary>Our ends as the streams Process gives (UTF-8 without a BOM unless the start info names an encoding); they own the ends from now on.</summary>
    internal (StreamWriter? Input, StreamReader? Output, StreamReader? Error) TakeStreams(ProcessStartInfo startInfo)
    {
        StreamWriter? input = _input is null ? null
            : new StreamWriter(new FileStream(_input, FileAccess.Write, 0, false), startInfo.StandardInputEncoding ?? new UTF8Encoding(false), 4096) { AutoFlush = true };
        _input = null;
        StreamReader? output = Reader(ref _output, startInfo.StandardOutputEncoding);
        StreamReader? error = Reader(ref _error, startInfo.StandardErrorEncoding);
        return (input, output, error);

        static StreamReader? Reader(ref SafeFileHandle? end, Encoding? encoding)
        {
            if (end is null)
                return null;
            var reader = new StreamReader(new FileStream(end, FileAccess.Read, 0, false), encoding ?? new UTF8Encoding(false), true, 4096);
            end = null;
            return reader;
        }
    }

    /// <summary>Closes the child's ends, and ours unless taken.</summary>
    public void Dispose()
    {
        _childInput?.Dispose();
        _childOutput?.Dispose();
        _childError?.Dispose();
        _input?.Dispose();
        _output?.Dispose();
        _error?.Dispose();
    }
}
