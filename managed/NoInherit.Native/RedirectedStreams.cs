using System;
using System.Diagnostics;
using System.IO;
using System.IO.Pipes;
using System.Text;
using System.Threading;
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

    /// <summary>Our ends of the redirection pipes as <see cref="ChildProcess"/> keeps them, with the encodings to read them.</summary>
    internal readonly record struct Ours(StreamWriter? Input, Stream? Output, Stream? Error, Encoding OutputEncoding, Encoding ErrorEncoding,
        OutputDrain? Drain);

    /// <summary>
    /// Our ends as the streams Process gives (UTF-8 without a BOM unless the start info names an encoding); they own the
    /// ends from now on. On Unix each end is an <see cref="AnonymousPipeClientStream"/>, as Process's are, whose
    /// asynchronous reads wait in the runtime's socket engine (epoll) rather than on a thread-pool thread; on Windows a
    /// <see cref="FileStream"/> over the (synchronous) pipe handle. With a <paramref name="drain"/>, the outputs are read
    /// through it. The outputs' readers are <see cref="Reader"/>'s, made when first needed.
    /// </summary>
    internal Ours TakeStreams(ProcessStartInfo startInfo, OutputDrain? drain = null)
    {
        Encoding outputEncoding = startInfo.StandardOutputEncoding ?? s_utf8;
        Encoding errorEncoding = startInfo.StandardErrorEncoding ?? s_utf8;
        StreamWriter? input = _input is null ? null
            : new StreamWriter(PipeStream(_input, FileAccess.Write), startInfo.StandardInputEncoding ?? s_utf8, 4096) { AutoFlush = true };
        _input = null;
        Stream? output = Output(ref _output, drain);
        Stream? error = Output(ref _error, drain);
        return new Ours(input, output, error, outputEncoding, errorEncoding, output is null && error is null ? null : drain);

        static Stream? Output(ref SafeFileHandle? end, OutputDrain? drain)
        {
            if (end is null)
                return null;
            Stream pipe = PipeStream(end, FileAccess.Read);
            end = null;
            return drain is null ? pipe : drain.Wrap(pipe);
        }
    }

    /// <summary>
    /// The reader of an output stream, as Process makes it (BOM detection, 4 KiB buffers), once per stream: the first
    /// caller's wins. Made when first needed, since the ReadAll methods and the captures read the stream itself and a
    /// reader allocates 12 KB of buffers.
    /// </summary>
    internal static StreamReader Reader(ref StreamReader? reader, Stream output, Encoding encoding)
    {
        if (reader is null)
            Interlocked.CompareExchange(ref reader, new StreamReader(output, encoding, true, 4096), null);
        return reader;
    }

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private static Stream PipeStream(SafeFileHandle end, FileAccess access)
    {
        if (OperatingSystem.IsWindows())
            return new FileStream(end, access, 0, false);
        // The stream takes over the descriptor: the SafeFileHandle lets go of it without closing it.
        var pipe = new SafePipeHandle(end.DangerousGetHandle(), ownsHandle: true);
        end.SetHandleAsInvalid();
        return new AnonymousPipeClientStream(access == FileAccess.Read ? PipeDirection.In : PipeDirection.Out, pipe);
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
