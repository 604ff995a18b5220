using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.IO.Pipes;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// Reads a child's standard output and standard error at once, to their ends, so that neither fills its pipe while the
/// other is read (the deadlock of reading one stream to its end first): as bytes, or as lines in the order they arrive.
/// The synchronous read of both to their ends waits on the two pipes on the calling thread (POSIX; as .NET 11's
/// Process.ReadAllBytes does); everything else reads asynchronously (on Unix the runtime's socket engine waits on the
/// pipes) and the synchronous forms block on that, with a deadline.
/// </summary>
internal static class OutputReader
{
    /// <summary>Both streams to their ends; <see cref="TimeoutException"/> when <paramref name="timeoutMs"/> (-1: none) passes first.</summary>
    internal static (byte[] Output, byte[] Error) ReadToEnd(Stream output, Stream error, int timeoutMs)
    {
        if (!OperatingSystem.IsWindows() && output is PipeStream outputPipe && error is PipeStream errorPipe)
            return ReadToEndOnThisThread(outputPipe, errorPipe, timeoutMs);
        using var stop = new CancellationTokenSource();
        Task<(byte[], byte[])> reading = ReadToEndAsync(output, error, stop.Token);
        WaitOrStop(reading, timeoutMs, stop);
        return reading.GetAwaiter().GetResult();
    }

    /// <summary>
    /// Both pipes to their ends on this thread: ni_wait_readable (poll) says which can be read, and a read of that one
    /// cannot block. Much cheaper for a short output than two asynchronous reads (no socket-engine registration, no
    /// thread-pool hop). The time limit bounds the waits, as with the asynchronous reads, whose reads of data already there
    /// complete at once: output that is all in the pipes is read to its end even at a zero timeout. Windows has no such
    /// wait on an anonymous pipe: it reads asynchronously.
    /// </summary>
    private static (byte[] Output, byte[] Error) ReadToEndOnThisThread(PipeStream output, PipeStream error, int timeoutMs)
    {
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        using var fromOutput = new Received();
        using var fromError = new Received();
        bool outputOpen = true, errorOpen = true;
        while (outputOpen || errorOpen)
        {
            int left = deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
            int result = Interop.WaitReadable(outputOpen ? output.SafePipeHandle : null, errorOpen ? error.SafePipeHandle : null, left,
                out Interop.ReadableFlags ready);
            if (result != 0)
                throw Errors.ForHandle(result);
            if (ready == default)
                throw new TimeoutException();
            if ((ready & Interop.ReadableFlags.READABLE_FIRST) != 0)
                outputOpen = fromOutput.ReadFrom(output);
            if ((ready & Interop.ReadableFlags.READABLE_SECOND) != 0)
                errorOpen = fromError.ReadFrom(error);
        }
        return (fromOutput.ToArray(), fromError.ToArray());
    }

    /// <summary>Both streams to their ends, read at once.</summary>
    internal static async Task<(byte[] Output, byte[] Error)> ReadToEndAsync(Stream output, Stream error, CancellationToken cancellationToken)
    {
        Task<byte[]> fromOutput = ReadToEndAsync(output, cancellationToken);
        Task<byte[]> fromError = ReadToEndAsync(error, cancellationToken);
        await Task.WhenAll(fromOutput, fromError).ConfigureAwait(false);
        return (fromOutput.Result, fromError.Result);
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var received = new Received();
        while (await received.ReadFromAsync(stream, cancellationToken).ConfigureAwait(false))
        {
        }
        return received.ToArray();
    }

    /// <summary>What has been read of one stream, in a pooled buffer that doubles when full.</summary>
    private sealed class Received : IDisposable
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(4096);
        private int _count;

        /// <summary>One read into the free space; false at the end of the stream.</summary>
        internal bool ReadFrom(Stream stream) => Add(stream.Read(Space().Span));

        /// <summary>One asynchronous read into the free space; false at the end of the stream.</summary>
        internal async ValueTask<bool> ReadFromAsync(Stream stream, CancellationToken cancellationToken) =>
            Add(await stream.ReadAsync(Space(), cancellationToken).ConfigureAwait(false));

        internal byte[] ToArray() => _count == 0 ? [] : _buffer.AsSpan(0, _count).ToArray();

        public void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);

        private Memory<byte> Space()
        {
            if (_count == _buffer.Length)
            {
                byte[] larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                _buffer.AsSpan(0, _count).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = larger;
            }
            return _buffer.AsMemory(_count);
        }

        private bool Add(int read)
        {
            _count += read;
            return read != 0;
        }
    }

    /// <summary>
    /// Waits for <paramref name="task"/> at most <paramref name="timeoutMs"/> (-1: no limit). When the time runs out, the
    /// reads are stopped (their outcome observed, so that it is never an unobserved exception) and
    /// <see cref="TimeoutException"/> is thrown, with the message .NET 11's ReadAll methods give.
    /// </summary>
    private static void WaitOrStop(Task task, int timeoutMs, CancellationTokenSource stop)
    {
        bool done;
        try
        {
            done = task.Wait(timeoutMs);
        }
        catch (AggregateException)
        {
            return; // faulted or cancelled: the caller's GetResult throws what happened
        }
        if (done)
            return;
        stop.Cancel();
        task.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        throw new TimeoutException();
    }

    /// <summary>
    /// The lines of both streams as they arrive: a reader per stream puts each line in one queue, in the order they are
    /// read. Disposing the enumerator (foreach does) stops the readers.
    /// </summary>
    internal sealed class Lines
    {
        private readonly Channel<ChildProcessOutputLine> _lines =
            Channel.CreateUnbounded<ChildProcessOutputLine>(new UnboundedChannelOptions { SingleReader = true });
        private readonly CancellationTokenSource _stop = new();
        private int _open = 2;

        internal Lines(StreamReader output, StreamReader error)
        {
            _ = ReadLinesAsync(output, standardError: false);
            _ = ReadLinesAsync(error, standardError: true);
        }

        private async Task ReadLinesAsync(StreamReader reader, bool standardError)
        {
            try
            {
                string? line;
                while ((line = await reader.ReadLineAsync(_stop.Token).ConfigureAwait(false)) != null)
                    _lines.Writer.TryWrite(new ChildProcessOutputLine(line, standardError));
                if (Interlocked.Decrement(ref _open) == 0)
                    _lines.Writer.TryComplete();
            }
            catch (Exception e)
            {
                _lines.Writer.TryComplete(e);
            }
        }

        /// <summary>The lines, blocking for each; <see cref="TimeoutException"/> once <paramref name="timeoutMs"/> (-1: none) has passed.</summary>
        internal IEnumerable<ChildProcessOutputLine> Read(int timeoutMs)
        {
            long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
            ChannelReader<ChildProcessOutputLine> reader = _lines.Reader;
            try
            {
                while (true)
                {
                    while (reader.TryRead(out ChildProcessOutputLine line))
                        yield return line;
                    Task<bool> more = reader.WaitToReadAsync().AsTask();
                    int left = deadline == long.MaxValue ? Timeout.Infinite : (int)Math.Clamp(deadline - Environment.TickCount64, 0, int.MaxValue);
                    WaitOrStop(more, left, _stop);
                    if (!more.GetAwaiter().GetResult())
                        yield break;
                }
            }
            finally
            {
                _stop.Cancel();
            }
        }

        /// <summary>The lines, awaited.</summary>
        internal async IAsyncEnumerable<ChildProcessOutputLine> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            try
            {
                await foreach (ChildProcessOutputLine line in _lines.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                    yield return line;
            }
            finally
            {
                _stop.Cancel();
            }
        }
    }
}
