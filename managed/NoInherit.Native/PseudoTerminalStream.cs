using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// <see cref="ChildProcess.Terminal"/>: reads what the child writes to its terminal and writes its keystrokes. It owns
/// the <see cref="PseudoTerminal"/>. Reading ends (0 bytes) once no process holds the terminal any more: on Linux the
/// master's EIO means exactly that (ni_pty_open), on Windows the pipe breaks (which the runtime already reads as 0).
/// Each call holds a reference on the master, so that a concurrent <see cref="Stream.Dispose()"/> cannot close the
/// descriptor, and let its number be reused, under a read or write in progress; the close happens when that call returns.
/// </summary>
internal sealed class PseudoTerminalStream : Stream
{
    private readonly PseudoTerminal _terminal;
    // Unbuffered streams over views of the master's handles that own nothing (the runtime's reads and writes of an
    // unseekable file: on Unix a blocking call, moved to the thread pool for the asynchronous forms).
    private readonly FileStream _output, _input;

    internal PseudoTerminalStream(PseudoTerminal terminal)
    {
        _terminal = terminal;
        _output = new FileStream(new SafeFileHandle(terminal.Master.DangerousGetHandle(), ownsHandle: false), FileAccess.Read, 0);
        _input = new FileStream(new SafeFileHandle(terminal.Master.Input, ownsHandle: false), FileAccess.Write, 0);
    }

    internal PseudoTerminal Terminal => _terminal;

    public override bool CanRead => !_terminal.Master.IsClosed;

    public override bool CanWrite => !_terminal.Master.IsClosed;

    public override bool CanSeek => false;

    public override int Read(Span<byte> buffer)
    {
        bool added = AddRef();
        try
        {
            return _output.Read(buffer);
        }
        catch (IOException e) when (Errors.IsTerminalEnd(e))
        {
            return 0;
        }
        finally
        {
            Release(added);
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    /// <summary>A blocking read on a thread-pool thread (a terminal is read as a character device, which has no
    /// asynchronous reads on Unix); cancellation is seen before the read starts.</summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        bool added = AddRef();
        try
        {
            return await _output.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e) when (Errors.IsTerminalEnd(e))
        {
            return 0;
        }
        finally
        {
            Release(added);
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        bool added = AddRef();
        try
        {
            _input.Write(buffer);
        }
        finally
        {
            Release(added);
        }
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        Write(buffer.AsSpan(offset, count));
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        bool added = AddRef();
        try
        {
            await _input.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Release(added);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    /// <summary>Nothing to flush: every write goes to the terminal at once.</summary>
    public override void Flush()
    {
    }

    public override long Length => throw new NotSupportedException("A terminal has no length.");

    public override long Position
    {
        get => throw new NotSupportedException("A terminal has no position.");
        set => throw new NotSupportedException("A terminal has no position.");
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A terminal cannot seek.");

    public override void SetLength(long value) => throw new NotSupportedException("A terminal has no length.");

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            _terminal.Dispose();
        base.Dispose(disposing);
    }

    private bool AddRef()
    {
        bool added = false;
        try
        {
            _terminal.Master.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(ChildProcess.Terminal), "The terminal is closed.");
        }
        return added;
    }

    private void Release(bool added)
    {
        if (added)
            _terminal.Master.DangerousRelease();
    }
}
