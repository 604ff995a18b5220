using System;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// The reading behind <see cref="ChildProcess.BeginOutputReadLine"/> and <see cref="ChildProcess.BeginErrorReadLine"/>,
/// which behaves as Process's does: a loop on the thread pool reads the pipe to its end and hands each line to a
/// callback as soon as its end has been read. A line ends at '\n', '\r' or "\r\n" (a '\r' ends its line at once; a '\n'
/// right after it, in the same read or the next, ends nothing); the text after the last end is a line at end-of-file,
/// followed by null. The bytes are decoded with the stream's encoding, without looking for a byte order mark.
/// <see cref="Cancel"/> stops the callbacks and <see cref="Begin"/> takes them up again; the reading goes on meanwhile,
/// and the lines read while cancelled are dropped, as Process drops them. A callback that throws ends the reading (no
/// further line, no null) and its exception is thrown again on a thread-pool thread, where it ends the process unless
/// handled, as Process's does.
/// </summary>
internal sealed class AsyncLineReader
{
    private const int BufferSize = 4096;

    private readonly Stream _stream;
    private readonly Decoder _decoder;
    private readonly int _maxChars;
    private readonly Action<string?> _callback;
    private readonly CancellationTokenSource _stop = new();
    private volatile bool _canceled;
    private Task? _reading;

    internal AsyncLineReader(Stream stream, Encoding encoding, Action<string?> callback)
    {
        _stream = stream;
        _decoder = encoding.GetDecoder();
        _maxChars = encoding.GetMaxCharCount(BufferSize);
        _callback = callback;
    }

    /// <summary>Completes when the reading has ended: at end-of-file (the null line handed over), or after a callback threw.</summary>
    internal Task Completion => _reading ?? Task.CompletedTask;

    /// <summary>Starts the reading, or takes the callbacks up again after <see cref="Cancel"/>.</summary>
    internal void Begin()
    {
        _canceled = false;
        _reading ??= Task.Run(ReadAsync);
    }

    /// <summary>Stops the callbacks; the reading goes on.</summary>
    internal void Cancel() => _canceled = true;

    /// <summary>Stops the callbacks and the reading (before the stream is closed).</summary>
    internal void Stop()
    {
        _canceled = true;
        _stop.Cancel();
    }

    private async Task ReadAsync()
    {
        byte[] bytes = new byte[BufferSize];
        char[] chars = new char[_maxChars];
        var line = new StringBuilder();
        bool afterReturn = false; // the last character read was a '\r': a '\n' next belongs to it
        for (;;)
        {
            int read;
            try
            {
                read = await _stream.ReadAsync(bytes, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                break; // the end, as for Process: a broken or closed pipe, or Stop
            }
            if (read == 0)
                break;
            int count = _decoder.GetChars(bytes, 0, read, chars, 0);
            for (int i = 0; i < count; i++)
            {
                char c = chars[i];
                if (c == '\n' && afterReturn)
                {
                    afterReturn = false;
                    continue;
                }
                afterReturn = c == '\r';
                if (c != '\r' && c != '\n')
                {
                    line.Append(c);
                    continue;
                }
                if (!Deliver(line.ToString()))
                    return;
                line.Clear();
            }
        }
        if (line.Length != 0 && !Deliver(line.ToString()))
            return;
        Deliver(null);
    }

    /// <summary>Hands <paramref name="line"/> to the callback unless cancelled; false if the callback threw.</summary>
    private bool Deliver(string? line)
    {
        if (_canceled)
            return true;
        try
        {
            _callback(line);
            return true;
        }
        catch (Exception e)
        {
            ThreadPool.QueueUserWorkItem(static state => ((ExceptionDispatchInfo)state!).Throw(), ExceptionDispatchInfo.Capture(e));
            return false;
        }
    }
}
