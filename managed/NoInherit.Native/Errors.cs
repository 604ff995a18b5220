using System;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;

namespace NoInherit.Native;

/// <summary>
/// The one place that turns a native error code into an exception. The native side classifies its
/// platform code (errno, Win32, WSA) with ni_error_kind, so nothing here depends on errno numbers.
/// Types, messages and HResults follow what the BCL throws for the same failure.
/// </summary>
internal static class Errors
{
    // The NI_ERR_* classes of noinherit.h.
    internal const int Other = 0, NoEnt = 1, PathNotFound = 2, Access = 3, Exist = 4, IsDir = 5, NotDir = 6,
        NameTooLong = 7, WouldBlock = 8, Inval = 9, BadF = 10, MFile = 11, NoSpc = 12, FBig = 13, Loop = 14,
        Rofs = 15, AfNoSupport = 16, ProtoNoSupport = 17, ProtoType = 18, SocktNoSupport = 19, NotSock = 20,
        OpNotSupp = 21, ConnAborted = 22, NoMem = 23, Intr = 24, ConnReset = 25, NotConn = 26;
    internal const int Canceled = 27;

    // The codes the BCL reports for conditions we detect differently: EACCES is 13 on every POSIX system;
    // a sharing violation is EWOULDBLOCK (11 on Linux, 35 on macOS/BSD) or ERROR_SHARING_VIOLATION (32).
    private const int EAccesPosix = 13;
    private static int WouldBlockCode => OperatingSystem.IsWindows() ? 32 : OperatingSystem.IsLinux() ? 11 : 35;

    internal static int Kind(int error) => Interop.ErrorKind(error);

    /// <summary>The platform's own message for the code (strerror / FormatMessage).</summary>
    internal static unsafe string Message(int error)
    {
        byte* buffer = stackalloc byte[512];
        Interop.ErrorMessage(error, buffer, 512);
        return Marshal.PtrToStringUTF8((nint)buffer) ?? $"Unknown error {error}";
    }

    /// <summary>An exception for a failed file-system call on <paramref name="path"/>, as the BCL builds it.</summary>
    internal static Exception ForPath(int error, string? path)
    {
        int kind = Kind(error);
        bool named = !string.IsNullOrEmpty(path);
        switch (kind)
        {
            case NoEnt:
            case PathNotFound:
                // Like the BCL: a missing parent directory is a DirectoryNotFoundException.
                if (kind == PathNotFound || (named && !ParentExists(path!)))
                {
                    return named
                        ? new DirectoryNotFoundException($"Could not find a part of the path '{path}'.")
                        : new DirectoryNotFoundException("Could not find a part of the path.");
                }
                return named
                    ? new FileNotFoundException($"Could not find file '{path}'.", path)
                    : new FileNotFoundException("Unable to find the specified file.");
            case Access:
            case BadF:
            case IsDir: // a directory where a file is expected: access denied, as File.OpenHandle says
                // A directory is reported as EACCES, as the BCL does (EACCES is 13 on every POSIX system).
                if (kind == IsDir && !OperatingSystem.IsWindows())
                    error = EAccesPosix;
                // The BCL on Unix attaches the errno as an inner IOException; on Windows (Win32Marshal) it attaches none.
                Exception? inner = OperatingSystem.IsWindows() ? null : new IOException(Message(error), HResult(error));
                return named
                    ? new UnauthorizedAccessException($"Access to the path '{path}' is denied.", inner)
                    : new UnauthorizedAccessException("Access to the path is denied.", inner);
            case NotDir when named: // a file where a directory of the path should be: as the BCL says
                return new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
            case NameTooLong:
                return named
                    ? new PathTooLongException($"The path '{path}' is too long, or a component of the specified path is too long.")
                    : new PathTooLongException("The specified file name or path is too long, or a component of the specified path is too long.");
            case WouldBlock:
                return new IOException(SharingViolation(path), HResult(error));
            case FBig:
                return new ArgumentOutOfRangeException("value", "Specified file length was too large for the file system.");
            case Exist when named:
                return new IOException($"The file '{path}' already exists.", HResult(error));
            case Loop when named: // the BCL's generic form for an error it has no special case for
                return new IOException($"{Message(error)} : '{path}'", HResult(error));
            default:
                // Windows: the BCL (Win32Marshal) names the path for a code it has no special case for, in File.Open and
                // File.Copy alike (ERROR_INVALID_NAME for a trailing separator): "Invalid name. : 'C:\dir\file\'" on .NET 8,
                // with a period after the quote on .NET 10. The running runtime decides, as it is the one the caller compares with.
                if (named && OperatingSystem.IsWindows())
                    return new IOException($"{Message(error)} : '{path}'{(Environment.Version.Major >= 10 ? "." : "")}", HResult(error));
                return new IOException(Message(error), HResult(error));
        }
    }

    /// <summary>An exception for a failed ni_copyfile, naming the end that failed, as File.Copy does.</summary>
    /// <remarks>A cancellation (ECANCELED / ERROR_CANCELLED, from the progress callback) is an
    /// <see cref="OperationCanceledException"/> carrying <paramref name="cancellationToken"/>.</remarks>
    internal static Exception ForCopy(int error, string source, string destination, CancellationToken cancellationToken = default)
    {
        switch (Kind(error))
        {
            case Canceled:
                return new OperationCanceledException(cancellationToken);
            case Exist:
                return Directory.Exists(destination)
                    ? new IOException($"The target file '{destination}' is a directory, not a file.")
                    : ForPath(error, destination);
            case Inval:
                // ni_copyfile's "same file" (its only EINVAL for valid flags): File.Copy reports the
                // destination as in use, because it cannot lock the file it is reading from.
                return new IOException(SharingViolation(destination), HResult(WouldBlockCode));
        }
        // Which end failed: the source fails again on its own (opened, and locked, as the copy does).
        int probe = Interop.Open(source, Interop.O_RDONLY | Interop.O_NOTDIR | Interop.O_SHLOCK | Interop.O_SHARE_READ, 0, out nint fd);
        if (probe == 0)
        {
            Interop.Close(fd);
            return ForPath(error, destination);
        }
        return ForPath(probe, source);
    }

    /// <summary>
    /// The exception File.OpenHandle throws when preallocation finds no room, or null for the errors it
    /// ignores (preallocation is a hint).
    /// </summary>
    internal static IOException? ForPreallocation(int error, string path, long size) => Kind(error) switch
    {
        FBig => new IOException($"Failed to create '{path}' with allocation size '{size}' because the file was too large."),
        NoSpc => new IOException($"Failed to create '{path}' with allocation size '{size}' because the disk was full."),
        _ => null,
    };

    internal static string SharingViolation(string? path) => string.IsNullOrEmpty(path)
        ? "The process cannot access the file because it is being used by another process."
        : $"The process cannot access the file '{path}' because it is being used by another process.";

    /// <summary>An exception for a failed socket call, as a <see cref="SocketException"/> with the BCL's SocketError.</summary>
    internal static SocketException ForSocket(int error) => new((int)ToSocketError(error));

    internal static SocketError ToSocketError(int error) => Kind(error) switch
    {
        Access => SocketError.AccessDenied,
        WouldBlock => SocketError.WouldBlock,
        Inval => SocketError.InvalidArgument,
        BadF or NotSock => SocketError.NotSocket,
        MFile => SocketError.TooManyOpenSockets,
        NoMem => SocketError.NoBufferSpaceAvailable,
        AfNoSupport => SocketError.AddressFamilyNotSupported,
        ProtoNoSupport => SocketError.ProtocolNotSupported,
        ProtoType => SocketError.ProtocolType,
        SocktNoSupport => SocketError.SocketNotSupported,
        OpNotSupp => SocketError.OperationNotSupported,
        ConnAborted => SocketError.ConnectionAborted,
        ConnReset => SocketError.ConnectionReset,
        NotConn => SocketError.NotConnected,
        Intr => SocketError.Interrupted,
        _ => SocketError.SocketError,
    };

    /// <summary>An exception for a failed call on an existing handle (no path involved).</summary>
    internal static Exception ForHandle(int error) => Kind(error) switch
    {
        BadF => new ArgumentException($"The handle is not an open descriptor: {Message(error)}", "handle"),
        _ => new IOException(Message(error), HResult(error)),
    };

    /// <summary>The HResult the BCL gives an IOException for the code: errno itself on Unix, HRESULT_FROM_WIN32 on Windows.</summary>
    internal static int HResult(int error) =>
        OperatingSystem.IsWindows() && error > 0 ? unchecked((int)0x80070000 | (error & 0xFFFF)) : error;

    private static bool ParentExists(string path)
    {
        string? parent = Path.GetDirectoryName(path);
        return string.IsNullOrEmpty(parent) || Directory.Exists(parent);
    }

    /// <summary>ENOENT / ERROR_FILE_NOT_FOUND: the same number everywhere. What a program not found on PATH reports.</summary>
    internal const int FileNotFoundCode = 2;

    /// <summary>An exception for a child that could not be started, as Process.Start throws it: a
    /// <see cref="System.ComponentModel.Win32Exception"/> carrying the platform code (errno / Win32 error).</summary>
    internal static System.ComponentModel.Win32Exception ForStart(int error, string fileName, string workingDirectory) =>
        new(error, $"An error occurred trying to start process '{fileName}' with working directory '{workingDirectory}'. {Message(error)}");

    /// <summary>A directory given as the program, as Process.Start on Unix refuses it (before any system call, so no error code).</summary>
    internal static System.ComponentModel.Win32Exception ForDirectoryAsProgram() =>
        new(0, "The FileName property should not be a directory unless UseShellExecute is set.");

    /// <summary>An exception for a failed call on a started child (wait, kill).</summary>
    internal static System.ComponentModel.Win32Exception ForProcess(int error) => new(error, Message(error));
}
