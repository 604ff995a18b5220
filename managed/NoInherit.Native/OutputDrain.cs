using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// <see cref="ChildProcessOptions.OutputDrainTimeout"/>: once the child has exited and the time has passed, a read of a
/// redirected output that would wait for more data ends instead (end-of-file), and our end of that pipe is closed; a
/// descendant that inherited the pipe's other end no longer keeps the reader waiting (Go's <c>Cmd.WaitDelay</c>). Each
/// output stream is wrapped in a <see cref="DrainedStream"/>, which is what every reader (StandardOutput, ReadAll*,
/// RunAndCaptureText) reads through.
/// </summary>
internal sealed class OutputDrain
{
    private readonly int _timeoutMs;
    private readonly TaskCompletionSource _expired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _truncated;

    private OutputDrain(int timeoutMs) => _timeoutMs = timeoutMs;

    /// <summary>A drain for <paramref name="timeout"/>; null for none (null or infinite: readers wait for end-of-file, as Process's do).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is negative (but infinite) or above <see cref="int.MaxValue"/> ms.</exception>
    internal static OutputDrain? Create(TimeSpan? timeout)
    {
        if (timeout is not TimeSpan value)
            return null;
        int milliseconds = ChildProcess.ToTimeoutMilliseconds(value, "options");
        return milliseconds == Timeout.Infinite ? null : new OutputDrain(milliseconds);
    }

    /// <summary>Whether a reader was cut off by the timeout (see <see cref="ChildProcess.OutputTruncated"/>).</summary>
    internal bool Truncated => _truncated;

    /// <summary>Whether the time after the exit has passed.</summary>
    internal bool HasExpired => _expired.Task.IsCompleted;

    /// <summary>Completes when the time after the exit has passed.</summary>
    internal Task Expired => _expired.Task;

    /// <summary>Wraps our end of an output pipe; the wrapper owns it.</summary>
    internal Stream Wrap(Stream pipe) => new DrainedStream(pipe, this);

    /// <summary>Starts counting when <paramref name="exit"/> completes (however it completes).</summary>
    internal void StartAfter(Task exit) => _ = ExpireAfterAsync(exit);

    private async Task ExpireAfterAsync(Task exit)
    {
        await exit.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
            .ConfigureAwait(false);
        await Task.Delay(_timeoutMs).ConfigureAwait(false);
        _expired.TrySetResult();
    }

    private void MarkTruncated() => _truncated = true;

    /// <summary>
    /// Our end of one output pipe, read one chunk ahead into a buffer of its own: a read waits for either that chunk or
    /// the drain's expiry, so that a reader is released even where the pending read itself cannot be cancelled (a
    /// synchronous pipe handle on Windows). A caller's cancellation leaves the chunk pending for the next read: no data
    /// is lost. Synchronous reads wait on the same path.
    /// </summary>
    private sealed class DrainedStream : Stream
    {
        private readonly Stream _pipe;
        private readonly OutputDrain _drain;
        private readonly byte[] _buffer = new byte[4096];
        private Task<int>? _pending;
        private int _offset, _count;
        private bool _ended;

        internal DrainedStream(Stream pipe, OutputDrain drain)
        {
            _pipe = pipe;
            _drain = drain;
        }

        public override bool CanRead => !_ended || _count > 0 || _pipe.CanRead;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            if (buffer.IsEmpty || !FillAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult())
                return 0;
            return Take(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || !await FillAsync(cancellationToken).ConfigureAwait(false))
                return 0;
            return Take(buffer.Span);
        }

        private int Take(Span<byte> destination)
        {
            int n = Math.Min(_count, destination.Length);
            _buffer.AsSpan(_offset, n).CopyTo(destination);
            _offset += n;
            _count -= n;
            return n;
        }

        /// <summary>Makes sure the buffer holds data; false at end-of-file, or once the drain has cut the stream.</summary>
        private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
        {
            if (_count > 0)
                return true;
            if (_ended)
                return false;
            if (_pending is null)
            {
                ValueTask<int> read;
                try
                {
                    read = _pipe.ReadAsync(_buffer, CancellationToken.None);
                }
                catch (ObjectDisposedException) when (_drain.HasExpired)
                {
                    return Cut();
                }
                if (read.IsCompleted) // data was there (Unix pipes are read at once when they have some)
                    return Filled(read.GetAwaiter().GetResult());
                _pending = read.AsTask();
            }
            await Task.WhenAny(_pending, _drain.Expired).WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!_pending.IsCompleted)
                return Cut();
            Task<int> done = _pending;
            _pending = null;
            return Filled(await done.ConfigureAwait(false));
        }

        private bool Filled(int read)
        {
            _offset = 0;
            _count = read;
            _ended = read == 0;
            return read > 0;
        }

        /// <summary>The drain's time is up while this stream waits for data: end-of-file, and our end is closed.</summary>
        private bool Cut()
        {
            _ended = true;
            _drain.MarkTruncated();
            _pending?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _pending = null;
            _pipe.Dispose();
            return false;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _pending?.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                _pipe.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
