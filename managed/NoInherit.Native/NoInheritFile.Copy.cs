using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

public static partial class NoInheritFile
{
    /// <summary>
    /// Copies an existing file to a new file, as <see cref="File.Copy(string, string, bool)"/>; every file the copy opens
    /// is non-inheritable, so a child started during the copy holds none of them.
    /// </summary>
    /// <remarks>
    /// The data is written to a temporary file in the destination's directory and put in place only once complete
    /// (atomically replacing an existing destination with <paramref name="overwrite"/>), so a failure never leaves a
    /// partial destination: it is absent or holds its old content. On Linux the copy uses a reflink where the file system
    /// shares extents, else <c>copy_file_range</c> or <c>sendfile</c>, and keeps the holes of a sparse source. The limits
    /// (a destination that is a device or FIFO, or that cannot be replaced, is written in place; a replaced destination is a
    /// new file, so other hard links keep the old content) are described in the README. Nothing is flushed to stable storage,
    /// as with <see cref="File.Copy(string, string, bool)"/>; <see cref="Copy(string, string, bool, bool)"/> flushes.
    /// </remarks>
    /// <param name="sourceFileName">The file to copy.</param>
    /// <param name="destFileName">The name of the destination file. This cannot be a directory.</param>
    /// <param name="overwrite">true to replace an existing destination file.</param>
    /// <exception cref="ArgumentNullException">A path is null.</exception>
    /// <exception cref="ArgumentException">A path is empty or contains a null character.</exception>
    /// <exception cref="FileNotFoundException">The source does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory of a path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">Access is denied, or a path is a directory.</exception>
    /// <exception cref="IOException">The destination exists and <paramref name="overwrite"/> is false, the destination is a
    /// directory, source and destination are the same file, or another I/O error.</exception>
    public static void Copy(string sourceFileName, string destFileName, bool overwrite = false) =>
        Copy(sourceFileName, destFileName, overwrite, durable: false);

    /// <summary>
    /// Copies an existing file to a new file, as <see cref="Copy(string, string, bool)"/>, and with <paramref name="durable"/>
    /// makes it survive a power cut once the call returns.
    /// </summary>
    /// <remarks>
    /// <para>With <paramref name="durable"/> true, the new file's data and metadata reach stable storage before the destination's
    /// name points at it, and the name before the call returns (POSIX: fsync of the new file, the rename or link, fsync of the
    /// directory; Windows: FlushFileBuffers, then MoveFileEx with MOVEFILE_WRITE_THROUGH). Whenever the power goes, the
    /// destination is then its old content (or absent) or the whole new file, and once the call has returned, the new file. A
    /// failed flush throws an <see cref="IOException"/> with the old destination in place, except a failure of the last flush,
    /// of the directory: the destination already names the new file, which a power cut may still undo.</para>
    /// <para>With <paramref name="durable"/> false (as <see cref="Copy(string, string, bool)"/>) nothing is flushed: the
    /// replacement is atomic for every process and for this one dying, but after a power cut or system crash the destination
    /// may be its old content, the new one, or (as after <see cref="File.Copy(string, string, bool)"/>) empty or short on file
    /// systems that allocate data after metadata (ext4, XFS). The README lists the guarantees file system by file system.</para>
    /// </remarks>
    /// <param name="sourceFileName">The file to copy.</param>
    /// <param name="destFileName">The name of the destination file. This cannot be a directory.</param>
    /// <param name="overwrite">true to replace an existing destination file.</param>
    /// <param name="durable">true to flush the copy to stable storage before the call returns.</param>
    /// <exception cref="ArgumentNullException">A path is null.</exception>
    /// <exception cref="ArgumentException">A path is empty or contains a null character.</exception>
    /// <exception cref="FileNotFoundException">The source does not exist.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory of a path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">Access is denied, or a path is a directory.</exception>
    /// <exception cref="IOException">The destination exists and <paramref name="overwrite"/> is false, the destination is a
    /// directory, source and destination are the same file, a flush failed, or another I/O error.</exception>
    public static unsafe void Copy(string sourceFileName, string destFileName, bool overwrite, bool durable)
    {
        (string source, string destination) = CopyPaths(sourceFileName, destFileName);
        int error = Interop.CopyFileEx(source, destination, CopyFlags(overwrite, durable), null, null);
        if (error != 0)
            throw Errors.ForCopy(error, source, destination);
    }

    /// <summary>
    /// Copies an existing file to a new file on a thread-pool thread, as <see cref="Copy(string, string, bool)"/> does,
    /// reporting the bytes copied and stopping when <paramref name="cancellationToken"/> is cancelled.
    /// </summary>
    /// <remarks>
    /// <paramref name="progress"/> gets the number of bytes of the source done so far (a hole of a sparse file counts as
    /// done): first 0, then a larger value after each chunk (at most 16 MiB on Linux), and last the source's size, before
    /// the destination is put in place. It is called on the copying thread; a <see cref="Progress{T}"/> posts each value
    /// to its synchronization context (or the thread pool, where the order of the calls is not kept).
    /// A cancellation is seen before the copy starts and after every chunk: the task ends canceled, the temporary file is
    /// removed and the destination is untouched (absent, or with its old content). A copy blocked in the kernel (reading a
    /// FIFO, a slow device) sees it when that call returns. An exception thrown by <paramref name="progress"/> stops the
    /// copy the same way and faults the task with that exception.
    /// </remarks>
    /// <param name="sourceFileName">The file to copy.</param>
    /// <param name="destFileName">The name of the destination file. This cannot be a directory.</param>
    /// <param name="overwrite">true to replace an existing destination file.</param>
    /// <param name="progress">Receives the number of bytes copied so far; may be null.</param>
    /// <param name="cancellationToken">Stops the copy, leaving the destination as it was.</param>
    /// <returns>A task that completes when the destination is in place.</returns>
    /// <exception cref="ArgumentNullException">A path is null (thrown before the task starts).</exception>
    /// <exception cref="ArgumentException">A path is empty or contains a null character (thrown before the task starts).</exception>
    /// <exception cref="OperationCanceledException">The task, when <paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="IOException">The task, for the failures of <see cref="Copy(string, string, bool)"/>.</exception>
    public static Task CopyAsync(string sourceFileName, string destFileName, bool overwrite = false,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default) =>
        CopyAsync(sourceFileName, destFileName, overwrite, durable: false, progress, cancellationToken);

    /// <summary>
    /// Copies an existing file to a new file on a thread-pool thread, as
    /// <see cref="CopyAsync(string, string, bool, IProgress{long}, CancellationToken)"/> does, and with
    /// <paramref name="durable"/> makes it survive a power cut once the task completes, as
    /// <see cref="Copy(string, string, bool, bool)"/> does.
    /// </summary>
    /// <remarks>The progress reports come before the flushes: the last one (the source's size) is followed by the flush of the
    /// new file, then the destination is put in place and its directory flushed. A cancellation is seen up to the last report.</remarks>
    /// <param name="sourceFileName">The file to copy.</param>
    /// <param name="destFileName">The name of the destination file. This cannot be a directory.</param>
    /// <param name="overwrite">true to replace an existing destination file.</param>
    /// <param name="durable">true to flush the copy to stable storage before the task completes.</param>
    /// <param name="progress">Receives the number of bytes copied so far; may be null.</param>
    /// <param name="cancellationToken">Stops the copy, leaving the destination as it was.</param>
    /// <returns>A task that completes when the destination is in place (and, with <paramref name="durable"/>, on stable storage).</returns>
    /// <exception cref="ArgumentNullException">A path is null (thrown before the task starts).</exception>
    /// <exception cref="ArgumentException">A path is empty or contains a null character (thrown before the task starts).</exception>
    /// <exception cref="OperationCanceledException">The task, when <paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="IOException">The task, for the failures of <see cref="Copy(string, string, bool, bool)"/>.</exception>
    public static Task CopyAsync(string sourceFileName, string destFileName, bool overwrite, bool durable,
        IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        (string source, string destination) = CopyPaths(sourceFileName, destFileName);
        if (cancellationToken.IsCancellationRequested)
            return Task.FromCanceled(cancellationToken);
        var operation = new CopyOperation(source, destination, CopyFlags(overwrite, durable), progress, cancellationToken);
        return Task.Factory.StartNew(static state => ((CopyOperation)state!).Run(), operation, cancellationToken,
            TaskCreationOptions.DenyChildAttach, TaskScheduler.Default);
    }

    private static Interop.CopyFlags CopyFlags(bool overwrite, bool durable) =>
        (overwrite ? Interop.CopyFlags.COPY_OVERWRITE : default) | (durable ? Interop.CopyFlags.COPY_DURABLE : default);

    private static (string Source, string Destination) CopyPaths(string sourceFileName, string destFileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceFileName);
        ArgumentException.ThrowIfNullOrEmpty(destFileName);
        return (Path.GetFullPath(sourceFileName), Path.GetFullPath(destFileName));
    }

    /// <summary>One asynchronous copy: its arguments, and what the native progress callback needs.</summary>
    private sealed class CopyOperation
    {
        private readonly string _source, _destination;
        private readonly Interop.CopyFlags _flags;
        private readonly IProgress<long>? _progress;
        private readonly CancellationToken _cancellationToken;
        private long _reported = -1;
        private Exception? _failure;

        public CopyOperation(string source, string destination, Interop.CopyFlags flags, IProgress<long>? progress,
            CancellationToken cancellationToken)
        {
            _source = source;
            _destination = destination;
            _flags = flags;
            _progress = progress;
            _cancellationToken = cancellationToken;
        }

        public unsafe void Run()
        {
            int error;
            if (_progress is null && !_cancellationToken.CanBeCanceled)
            {
                error = Interop.CopyFileEx(_source, _destination, _flags, null, null);
            }
            else
            {
                // The native side gets a GCHandle to this object as its state and hands it back to OnProgress.
                GCHandle self = GCHandle.Alloc(this);
                try
                {
                    error = Interop.CopyFileEx(_source, _destination, _flags, &OnProgress, (void*)GCHandle.ToIntPtr(self));
                }
                finally
                {
                    self.Free();
                }
            }
            if (_failure is not null)
                ExceptionDispatchInfo.Throw(_failure);
            if (error != 0)
                throw Errors.ForCopy(error, _source, _destination, _cancellationToken);
        }

        /// <summary>ni_copy_progress: nonzero cancels. Nothing may escape into native code, so a failure is kept.</summary>
        [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])] // the C library's convention: on x86 not stdcall
        private static unsafe int OnProgress(long copied, void* state)
        {
            CopyOperation? operation = null;
            try
            {
                operation = (CopyOperation)GCHandle.FromIntPtr((nint)state).Target!;
                if (operation._cancellationToken.IsCancellationRequested)
                    return 1;
                if (operation._progress is not null && copied != operation._reported)
                {
                    operation._reported = copied;
                    operation._progress.Report(copied);
                }
                return operation._cancellationToken.IsCancellationRequested ? 1 : 0;
            }
            catch (Exception e)
            {
                if (operation is not null)
                    operation._failure = e;
                return 1;
            }
        }
    }
}
