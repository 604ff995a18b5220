using System;
using System.IO;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// File operations that stand beside <see cref="File"/>: the same arguments, the same behaviour and the
/// same exceptions, except that every handle they create is non-inheritable from the instant it exists
/// (O_CLOEXEC in the open call itself), so no child process started by any thread can receive it.
/// </summary>
public static partial class NoInheritFile
{
    // UnixFileMode 0666, which File.OpenHandle uses for new files (the umask then applies).
    private const int DefaultCreateMode = 0x1B6;
    private const FileOptions KnownOptions = FileOptions.WriteThrough | FileOptions.Asynchronous | FileOptions.RandomAccess
        | FileOptions.DeleteOnClose | FileOptions.SequentialScan | FileOptions.Encrypted | (FileOptions)0x20000000 /* NoBuffering */;

    private static readonly bool s_disableFileLocking =
        (AppContext.TryGetSwitch("System.IO.DisableFileLocking", out bool disabled) && disabled)
        || Environment.GetEnvironmentVariable("DOTNET_SYSTEM_IO_DISABLEFILELOCKING") is "1" or "true" or "TRUE" or "True";

    /// <summary>
    /// Opens a non-inheritable handle to the file, as <see cref="File.OpenHandle"/> does.
    /// <see cref="FileShare.Inheritable"/> is honoured as the one explicit request for an inheritable handle.
    /// </summary>
    /// <param name="path">A relative or absolute path for the file.</param>
    /// <param name="mode">How to open or create the file.</param>
    /// <param name="access">The access the handle grants.</param>
    /// <param name="share">The access other handles may have (advisory flock on Unix, as in the BCL).</param>
    /// <param name="options">Advanced options, as for <see cref="File.OpenHandle"/>.</param>
    /// <param name="preallocationSize">Bytes to reserve on disk when a new file is created; 0 for none.</param>
    /// <returns>The open handle; the caller owns it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or contains a null character, or the arguments do not combine.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An enum value is out of range, or <paramref name="preallocationSize"/> is negative.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist and <paramref name="mode"/> does not create it.</exception>
    /// <exception cref="DirectoryNotFoundException">A directory of the path does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">Access is denied, or the path is a directory.</exception>
    /// <exception cref="IOException">Another I/O error, with the platform's message, such as a sharing violation.</exception>
    public static SafeFileHandle OpenHandle(string path, FileMode mode = FileMode.Open, FileAccess access = FileAccess.Read,
        FileShare share = FileShare.Read, FileOptions options = FileOptions.None, long preallocationSize = 0)
    {
        ValidateArguments(path, mode, access, share, options, preallocationSize);
        return OpenCore(Path.GetFullPath(path), mode, access, share, options, preallocationSize, DefaultCreateMode);
    }

    /// <summary>Opens a <see cref="FileStream"/> on the path with read/write access and no sharing, as <see cref="File.Open(string, FileMode)"/>.</summary>
    /// <param name="path">The file to open.</param>
    /// <param name="mode">How to open or create the file.</param>
    /// <returns>A stream over a non-inheritable handle.</returns>
    public static FileStream Open(string path, FileMode mode) =>
        Open(path, mode, mode == FileMode.Append ? FileAccess.Write : FileAccess.ReadWrite, FileShare.None);

    /// <summary>Opens a <see cref="FileStream"/> with the given mode and access and no sharing, as <see cref="File.Open(string, FileMode, FileAccess)"/>.</summary>
    /// <param name="path">The file to open.</param>
    /// <param name="mode">How to open or create the file.</param>
    /// <param name="access">The access the stream grants.</param>
    /// <returns>A stream over a non-inheritable handle.</returns>
    public static FileStream Open(string path, FileMode mode, FileAccess access) =>
        Open(path, mode, access, FileShare.None);

    /// <summary>Opens a <see cref="FileStream"/>, as <see cref="File.Open(string, FileMode, FileAccess, FileShare)"/>.</summary>
    /// <param name="path">The file to open.</param>
    /// <param name="mode">How to open or create the file.</param>
    /// <param name="access">The access the stream grants.</param>
    /// <param name="share">The access other handles may have.</param>
    /// <returns>A stream over a non-inheritable handle.</returns>
    public static FileStream Open(string path, FileMode mode, FileAccess access, FileShare share)
    {
        // FileStream(path, mode, access, share)'s checks and parameter names, before FileStreamOptions' setters see the values.
        ValidateArguments(path, mode, access, share, FileOptions.None, 0);
        return OpenStream(path, new FileStreamOptions { Mode = mode, Access = access, Share = share });
    }

    /// <summary>Opens a <see cref="FileStream"/>, as <see cref="File.Open(string, FileStreamOptions)"/>.</summary>
    /// <param name="path">The file to open.</param>
    /// <param name="options">Mode, access, share, options, buffer size, preallocation and Unix create mode.</param>
    /// <returns>A stream over a non-inheritable handle.</returns>
    public static FileStream Open(string path, FileStreamOptions options)
    {
        // FileStream(string, FileStreamOptions)'s own checks, in its order and with its parameter name.
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        if ((options.Access & FileAccess.Read) != 0 && options.Mode == FileMode.Append)
            throw new ArgumentException("Append access can be requested only in write-only mode.", nameof(options));
        if ((options.Access & FileAccess.Write) == 0 && options.Mode is FileMode.Truncate or FileMode.CreateNew or FileMode.Create or FileMode.Append)
            throw new ArgumentException($"Combining FileMode: {options.Mode} with FileAccess: {options.Access} is invalid.", nameof(options));
        return OpenStream(path, options);
    }

    private static FileStream OpenStream(string path, FileStreamOptions options)
    {
        ValidateArguments(path, options.Mode, options.Access, options.Share, options.Options, options.PreallocationSize);
        int createMode = DefaultCreateMode;
        if (options.UnixCreateMode is UnixFileMode unixCreateMode)
        {
            // As FileStream: a create mode only makes sense where the call may create the file.
            if (options.Mode is FileMode.Open or FileMode.Truncate)
                throw new ArgumentException("UnixCreateMode can be requested only for modes that can create new files.", nameof(options));
            createMode = (int)unixCreateMode;
        }

        SafeFileHandle handle = OpenCore(Path.GetFullPath(path), options.Mode, options.Access, options.Share,
            options.Options, options.PreallocationSize, createMode);
        try
        {
            bool isAsync = (options.Options & FileOptions.Asynchronous) != 0;
            return options.Mode == FileMode.Append
                ? new AppendFileStream(handle, options.Access, options.BufferSize, isAsync)
                : new FileStream(handle, options.Access, options.BufferSize, isAsync);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Creates an anonymous pipe whose two ends are non-inheritable (pipe2 with O_CLOEXEC).
    /// </summary>
    /// <param name="readHandle">The read end.</param>
    /// <param name="writeHandle">The write end.</param>
    /// <exception cref="IOException">The pipe could not be created (for example, too many open files).</exception>
    public static void CreateAnonymousPipe(out SafeFileHandle readHandle, out SafeFileHandle writeHandle)
    {
        int error = Interop.Pipe(out readHandle, out writeHandle);
        if (error != 0)
            throw Errors.ForPath(error, null);
    }

    /// <summary>
    /// Opens the null device (/dev/null; NUL on Windows) for reading and writing, non-inheritable, as .NET 11's
    /// <c>File.OpenNullHandle()</c> does: reads give end-of-file, writes are discarded. For a child's standard stream
    /// (<see cref="ChildProcessOptions.StandardInputHandle"/> and the others), which the child gets whatever the flag.
    /// </summary>
    /// <returns>A new handle; the caller owns it.</returns>
    /// <exception cref="IOException">The device could not be opened (for example, too many open files).</exception>
    public static SafeFileHandle OpenNullHandle()
    {
        string path = OperatingSystem.IsWindows() ? "NUL" : "/dev/null";
        // No lock flag (File.OpenHandle's FileShare is an flock on Unix), so Windows shares it for reading, writing and deletion.
        int error = Interop.Open(path, Interop.OpenFlags.O_RDWR, 0, out SafeFileHandle handle);
        if (error != 0)
            throw Errors.ForPath(error, path);
        return handle;
    }

    /// <summary>Duplicates a file handle into a new, non-inheritable one (F_DUPFD_CLOEXEC).</summary>
    /// <param name="handle">An open handle.</param>
    /// <returns>A new handle to the same open file description; the caller owns it.</returns>
    public static SafeFileHandle Duplicate(SafeFileHandle handle)
    {
        Inheritance.ThrowIfUnusable(handle);
        int error = Interop.Dup(handle, out SafeFileHandle duplicate);
        if (error != 0)
            throw Errors.ForHandle(error);
        return duplicate;
    }

    private static SafeFileHandle OpenCore(string fullPath, FileMode mode, FileAccess access, FileShare share,
        FileOptions options, long preallocationSize, int createMode)
    {
        Interop.OpenFlags flags = OpenFlagsFor(mode, access, share, options);
        int error = Interop.Open(fullPath, flags, createMode, out SafeFileHandle handle);
        if (error != 0)
            throw Errors.ForPath(error, fullPath);

        try
        {
            if (preallocationSize > 0)
                Preallocate(handle, fullPath, preallocationSize);
            if ((share & FileShare.Inheritable) != 0)
                Inheritance.SetInheritable(handle, true);
            HandleState.SetPath(handle, fullPath, deleteOnClose: (options & FileOptions.DeleteOnClose) != 0);
            HandleState.SetUnixState(handle, isAsync: (options & FileOptions.Asynchronous) != 0, isLocked: !s_disableFileLocking);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
        return handle;
    }

    /// <summary>The ni_open flags for File.OpenHandle's arguments.</summary>
    private static Interop.OpenFlags OpenFlagsFor(FileMode mode, FileAccess access, FileShare share, FileOptions options)
    {
        Interop.OpenFlags flags = Interop.OpenFlags.O_NOTDIR | mode switch
        {
            FileMode.CreateNew => Interop.OpenFlags.O_CREAT | Interop.OpenFlags.O_EXCL,
            FileMode.Create => Interop.OpenFlags.O_CREAT | Interop.OpenFlags.O_TRUNC,
            FileMode.OpenOrCreate or FileMode.Append => Interop.OpenFlags.O_CREAT,
            FileMode.Truncate => Interop.OpenFlags.O_TRUNC,
            _ => 0,
        };
        flags |= access switch
        {
            FileAccess.Write => Interop.OpenFlags.O_WRONLY,
            FileAccess.ReadWrite => Interop.OpenFlags.O_RDWR,
            _ => Interop.OpenFlags.O_RDONLY,
        };
        if ((options & FileOptions.WriteThrough) != 0)
            flags |= Interop.OpenFlags.O_SYNC;
        // Hints, as the BCL gives them (RandomAccess wins when both are asked for).
        if ((options & FileOptions.RandomAccess) != 0)
            flags |= Interop.OpenFlags.O_RANDOM;
        else if ((options & FileOptions.SequentialScan) != 0)
            flags |= Interop.OpenFlags.O_SEQUENTIAL;
        if (OperatingSystem.IsWindows())
        {
            // Windows shares exactly what was asked; deletion and overlapped I/O are flags of the open itself.
            if ((share & FileShare.Read) != 0) flags |= Interop.OpenFlags.O_SHARE_READ;
            if ((share & FileShare.Write) != 0) flags |= Interop.OpenFlags.O_SHARE_WRITE;
            if ((share & FileShare.Delete) != 0) flags |= Interop.OpenFlags.O_SHARE_DELETE;
            if ((share & FileShare.ReadWrite) == FileShare.None) flags |= Interop.OpenFlags.O_EXLOCK;
            if ((options & FileOptions.DeleteOnClose) != 0) flags |= Interop.OpenFlags.O_DELETE_ON_CLOSE;
            if ((options & FileOptions.Asynchronous) != 0) flags |= Interop.OpenFlags.O_ASYNC;
        }
        else if (!s_disableFileLocking)
        {
            // As the BCL, which compares the whole value: FileShare.Inheritable alone takes the shared lock.
            flags |= share == FileShare.None ? Interop.OpenFlags.O_EXLOCK : Interop.OpenFlags.O_SHLOCK;
        }
        return flags;
    }

    private static void Preallocate(SafeFileHandle handle, string fullPath, long size)
    {
        int error = Interop.Preallocate(handle, size);
        // As the BCL: only "no room" fails the open (and removes the new file); the rest is a hint.
        if (error != 0 && Errors.ForPreallocation(error, fullPath, size) is Exception exception)
        {
            handle.Dispose();
            File.Delete(fullPath);
            throw exception;
        }
    }

    private static void ValidateArguments(string path, FileMode mode, FileAccess access, FileShare share, FileOptions options, long preallocationSize)
    {
        // The order and the messages of FileStream's own checks, so that failures compare equal.
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (mode < FileMode.CreateNew || mode > FileMode.Append)
            throw new ArgumentOutOfRangeException(nameof(mode), "Enum value was out of legal range.");
        if (access < FileAccess.Read || access > FileAccess.ReadWrite)
            throw new ArgumentOutOfRangeException(nameof(access), "Enum value was out of legal range.");
        FileShare shareWithoutInheritable = share & ~FileShare.Inheritable;
        if (shareWithoutInheritable < FileShare.None || shareWithoutInheritable > (FileShare.ReadWrite | FileShare.Delete))
            throw new ArgumentOutOfRangeException(nameof(share), "Enum value was out of legal range.");
        if (options != FileOptions.None && (options & ~KnownOptions) != 0)
            throw new ArgumentOutOfRangeException(nameof(options), "Enum value was out of legal range.");
        if (preallocationSize < 0)
            throw new ArgumentOutOfRangeException(nameof(preallocationSize), "Non-negative number required.");
        if ((access & FileAccess.Write) == 0 && mode is FileMode.Truncate or FileMode.CreateNew or FileMode.Create or FileMode.Append)
            throw new ArgumentException($"Combining FileMode: {mode} with FileAccess: {access} is invalid.", nameof(access));
        if ((access & FileAccess.Read) != 0 && mode == FileMode.Append)
            throw new ArgumentException("Append access can be requested only in write-only mode.", nameof(access));
        if (preallocationSize > 0 && (access & FileAccess.Write) == 0)
            throw new ArgumentException("Preallocation size can be requested only in write mode.", nameof(access));
        if (preallocationSize > 0 && mode is not (FileMode.Create or FileMode.CreateNew))
            throw new ArgumentException("Preallocation size can be requested only for new files.", nameof(mode));
    }

    /// <summary>
    /// FileMode.Append as FileStream gives it when it opens a path itself: positioned at the end, and unable to
    /// seek back over or truncate the data the file already had (FileStream keeps that limit only for
    /// streams it opened, not for one made from a handle).
    /// </summary>
    private sealed class AppendFileStream : FileStream
    {
        private readonly long _appendStart;

        public AppendFileStream(SafeFileHandle handle, FileAccess access, int bufferSize, bool isAsync)
            : base(handle, access, bufferSize, isAsync)
        {
            _appendStart = base.Seek(0, SeekOrigin.End);
        }

        public override long Position
        {
            get => base.Position;
            set
            {
                if (value < _appendStart)
                    throw new IOException(SeekAppendOverwrite);
                base.Position = value;
            }
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            long target = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => Position + offset,
                SeekOrigin.End => Length + offset,
                _ => long.MaxValue, // invalid: the base reports it
            };
            if (target < _appendStart)
                throw new IOException(SeekAppendOverwrite);
            return base.Seek(offset, origin);
        }

        public override void SetLength(long value)
        {
            if (value < _appendStart)
                throw new IOException("Unable to truncate data that previously existed in a file opened in Append mode.");
            base.SetLength(value);
        }

        private const string SeekAppendOverwrite = "Unable seek backward to overwrite data that previously existed in a file opened in Append mode.";
    }
}
