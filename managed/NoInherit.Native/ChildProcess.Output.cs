using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

public sealed partial class ChildProcess
{
    /// <summary>
    /// Reads the child's standard output and standard error to their ends, both at once (neither pipe fills while the
    /// other is read), and decodes each with the start info's encoding (UTF-8 by default), as .NET 11's
    /// <c>Process.ReadAllText</c> does. Both must be redirected and not read before; afterwards they count as read.
    /// </summary>
    /// <param name="timeout">How long the reading may take; null: no limit.</param>
    /// <returns>The text of each.</returns>
    /// <exception cref="InvalidOperationException">A stream was not redirected, or was read (or handed out, or read through the events) before.</exception>
    /// <exception cref="TimeoutException">The streams did not end within <paramref name="timeout"/>. The child is left running.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or too large.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public (string StandardOutput, string StandardError) ReadAllText(TimeSpan? timeout = default)
    {
        (byte[] output, byte[] error) = ReadAllBytes(timeout);
        return (Decode(output, _outputEncoding), Decode(error, _errorEncoding));
    }

    /// <summary>
    /// Reads the child's standard output and standard error to their ends, both at once, as bytes, as .NET 11's
    /// <c>Process.ReadAllBytes</c> does. Both must be redirected and not read before.
    /// </summary>
    /// <param name="timeout">How long the reading may take; null: no limit.</param>
    /// <returns>The bytes of each.</returns>
    /// <exception cref="InvalidOperationException">A stream was not redirected, or was read (or handed out, or read through the events) before.</exception>
    /// <exception cref="TimeoutException">The streams did not end within <paramref name="timeout"/>. The child is left running.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or too large.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public (byte[] StandardOutput, byte[] StandardError) ReadAllBytes(TimeSpan? timeout = default)
    {
        int milliseconds = timeout.HasValue ? ToTimeoutMilliseconds(timeout.Value) : Timeout.Infinite;
        TakeBothForReadAll();
        return OutputReader.ReadToEnd(_outputStream!, _errorStream!, milliseconds);
    }

    /// <summary>The asynchronous <see cref="ReadAllText"/>, as .NET 11's <c>Process.ReadAllTextAsync</c>.</summary>
    /// <exception cref="InvalidOperationException">A stream was not redirected, or was read (or handed out, or read through the events) before.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled. The child is left running.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public async Task<(string StandardOutput, string StandardError)> ReadAllTextAsync(CancellationToken cancellationToken = default)
    {
        (byte[] output, byte[] error) = await ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
        return (Decode(output, _outputEncoding), Decode(error, _errorEncoding));
    }

    /// <summary>The asynchronous <see cref="ReadAllBytes"/>, as .NET 11's <c>Process.ReadAllBytesAsync</c>.</summary>
    /// <exception cref="InvalidOperationException">A stream was not redirected, or was read (or handed out, or read through the events) before.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled. The child is left running.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public async Task<(byte[] StandardOutput, byte[] StandardError)> ReadAllBytesAsync(CancellationToken cancellationToken = default)
    {
        TakeBothForReadAll(); // a misuse faults the task, as with .NET 11's
        return await OutputReader.ReadToEndAsync(_outputStream!, _errorStream!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The lines of the child's standard output and standard error, both read at once, in the order they arrive, each
    /// saying which stream it came from. Unlike .NET 11's synchronous <c>Process.ReadAllLines</c>, which gives all of
    /// standard output's lines before standard error's, this form interleaves them as its asynchronous form does.
    /// Both streams must be redirected and not read before; the enumeration ends when both have ended.
    /// </summary>
    /// <param name="timeout">How long the whole enumeration may take; null: no limit.</param>
    /// <exception cref="InvalidOperationException">A stream was not redirected, or was read (or handed out) before (thrown here, not at the first line).</exception>
    /// <exception cref="TimeoutException">Thrown by the enumeration once <paramref name="timeout"/> has passed.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or too large.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public IEnumerable<ChildProcessOutputLine> ReadAllLines(TimeSpan? timeout = default)
    {
        int milliseconds = timeout.HasValue ? ToTimeoutMilliseconds(timeout.Value) : Timeout.Infinite;
        TakeBothForReadAll();
        return new OutputReader.Lines(OutputLinesReader(), ErrorLinesReader()).Read(milliseconds);
    }

    /// <summary>The lines of both streams as they arrive, as .NET 11's <c>Process.ReadAllLinesAsync</c>.</summary>
    /// <exception cref="InvalidOperationException">A stream was not redirected, or was read (or handed out) before (thrown
    /// by the first MoveNextAsync, as .NET 11's).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled. The child is left running.</exception>
    /// <exception cref="ObjectDisposedException">This object was disposed.</exception>
    public async IAsyncEnumerable<ChildProcessOutputLine> ReadAllLinesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        TakeBothForReadAll();
        await foreach (ChildProcessOutputLine line in new OutputReader.Lines(OutputLinesReader(), ErrorLinesReader()).ReadAsync(cancellationToken).ConfigureAwait(false))
            yield return line;
    }

    /// <summary>Checks both streams can be read by a ReadAll method, as Process checks it, and marks them read.</summary>
    private void TakeBothForReadAll()
    {
        ThrowIfDisposed();
        if (_outputStream is null)
            throw new InvalidOperationException(StandardOutputMissing);
        if (_errorStream is null)
            throw new InvalidOperationException(StandardErrorMissing);
        if (_outputUsed || _errorUsed || _outputAsync || _errorAsync)
            throw new InvalidOperationException(MixedReads);
        _outputUsed = _errorUsed = true;
    }

    // The line readers of ReadAllLines (after TakeBothForReadAll: both streams are there).
    private StreamReader OutputLinesReader() => RedirectedStreams.Reader(ref _standardOutput, _outputStream!, _outputEncoding);

    private StreamReader ErrorLinesReader() => RedirectedStreams.Reader(ref _standardError, _errorStream!, _errorEncoding);

    private static string Decode(byte[] bytes, Encoding encoding) => bytes.Length == 0 ? string.Empty : encoding.GetString(bytes);
}
