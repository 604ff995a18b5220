using System;
using System.IO;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading;
using Microsoft.Win32.SafeHandles;
using static NoInherit.Native.Interop.ErrorKind;
using ErrorKind = NoInherit.Native.Interop.ErrorKind;

namespace NoInherit.Native;

/// <summary>
/// The one place that turns a native error code into an exception. The native side classifies its platform code
/// (errno, Win32, WSA) with ni_error_kind, and names the code of a class with ni_error_code where a condition is
/// found without a native call failing, so nothing here depends on an errno or Win32 number. Types, messages and
/// HResults follow what the BCL throws for the same failure.
/// </summary>
internal static class Errors
{
    internal static ErrorKind Kind(int error) => Interop.GetErrorKind(error);

    /// <summary>
    /// The platform's code for a class, for the conditions reported without a failed native call (EACCES for a directory
    /// opened as a file, a same-file copy's sharing violation, ENOENT for a program not on PATH).
    /// </summary>
    private static int CodeOf(ErrorKind kind) => Interop.GetErrorCode(kind);

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
        ErrorKind kind = Kind(error);
        bool named = !string.IsNullOrEmpty(path);
        switch (kind)
        {
            case ERR_NOENT:
            case ERR_NOTDIR_PATH:
                // Like the BCL: a missing parent directory is a DirectoryNotFoundException.
                if (kind == ERR_NOTDIR_PATH || (named && !ParentExists(path!)))
                {
                    return named
                        ? new DirectoryNotFoundException($"Could not find a part of the path '{path}'.")
                        : new DirectoryNotFoundException("Could not find a part of the path.");
                }
                return named
                    ? new FileNotFoundException($"Could not find file '{path}'.", path)
                    : new FileNotFoundException("Unable to find the specified file.");
            case ERR_ACCESS:
            case ERR_BADF:
            case ERR_ISDIR: // a directory where a file is expected: access denied, as File.OpenHandle says
                // A directory is reported as EACCES, as the BCL does.
                if (kind == ERR_ISDIR && !OperatingSystem.IsWindows())
                    error = CodeOf(ERR_ACCESS);
                // The BCL on Unix attaches the errno as an inner IOException; on Windows (Win32Marshal) it attaches none.
                Exception? inner = OperatingSystem.IsWindows() ? null : new IOException(Message(error), HResult(error));
                return named
                    ? new UnauthorizedAccessException($"Access to the path '{path}' is denied.", inner)
                    : new UnauthorizedAccessException("Access to the path is denied.", inner);
            case ERR_NOTDIR when named: // a file where a directory of the path should be: as the BCL says
                return new DirectoryNotFoundException($"Could not find a part of the path '{path}'.");
            case ERR_NAMETOOLONG:
                return named
                    ? new PathTooLongException($"The path '{path}' is too long, or a component of the specified path is too long.")
                    : new PathTooLongException("The specified file name or path is too long, or a component of the specified path is too long.");
            case ERR_WOULDBLOCK:
                return new IOException(SharingViolation(path), HResult(error));
            case ERR_FBIG:
                return new ArgumentOutOfRangeException("value", "Specified file length was too large for the file system.");
            case ERR_EXIST when named:
                return new IOException($"The file '{path}' already exists.", HResult(error));
            case ERR_LOOP when named: // the BCL's generic form for an error it has no special case for
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
            case ERR_CANCELED:
                return new OperationCanceledException(cancellationToken);
            case ERR_EXIST:
                return Directory.Exists(destination)
                    ? new IOException($"The target file '{destination}' is a directory, not a file.")
                    : ForPath(error, destination);
            case ERR_INVAL:
                // ni_copyfile's "same file" (its only EINVAL for valid flags): File.Copy reports the
                // destination as in use, because it cannot lock the file it is reading from.
                // (a sharing violation the BCL reports without a failed call of its own: EWOULDBLOCK, ERROR_SHARING_VIOLATION)
                return new IOException(SharingViolation(destination), HResult(CodeOf(ERR_WOULDBLOCK)));
        }
        // Which end failed: the source fails again on its own (opened, and locked, as the copy does).
        const Interop.OpenFlags ReadLocked = Interop.OpenFlags.O_RDONLY | Interop.OpenFlags.O_NOTDIR | Interop.OpenFlags.O_SHLOCK
            | Interop.OpenFlags.O_SHARE_READ;
        int probe = Interop.Open(source, ReadLocked, 0, out SafeFileHandle opened);
        opened.Dispose();
        return probe == 0 ? ForPath(error, destination) : ForPath(probe, source);
    }

    /// <summary>
    /// The exception File.OpenHandle throws when preallocation finds no room, or null for the errors it
    /// ignores (preallocation is a hint).
    /// </summary>
    internal static IOException? ForPreallocation(int error, string path, long size) => Kind(error) switch
    {
        ERR_FBIG => new IOException($"Failed to create '{path}' with allocation size '{size}' because the file was too large."),
        ERR_NOSPC => new IOException($"Failed to create '{path}' with allocation size '{size}' because the disk was full."),
        _ => null,
    };

    internal static string SharingViolation(string? path) => string.IsNullOrEmpty(path)
        ? "The process cannot access the file because it is being used by another process."
        : $"The process cannot access the file '{path}' because it is being used by another process.";

    /// <summary>An exception for a failed socket call, as a <see cref="SocketException"/> with the BCL's SocketError.</summary>
    internal static SocketException ForSocket(int error) => new((int)ToSocketError(error));

    internal static SocketError ToSocketError(int error) => Kind(error) switch
    {
        ERR_ACCESS => SocketError.AccessDenied,
        ERR_WOULDBLOCK => SocketError.WouldBlock,
        ERR_INVAL => SocketError.InvalidArgument,
        ERR_BADF or ERR_NOTSOCK => SocketError.NotSocket,
        ERR_MFILE => SocketError.TooManyOpenSockets,
        ERR_NOMEM => SocketError.NoBufferSpaceAvailable,
        ERR_AFNOSUPPORT => SocketError.AddressFamilyNotSupported,
        ERR_PROTONOSUPPORT => SocketError.ProtocolNotSupported,
        ERR_PROTOTYPE => SocketError.ProtocolType,
        ERR_SOCKTNOSUPPORT => SocketError.SocketNotSupported,
        ERR_OPNOTSUPP => SocketError.OperationNotSupported,
        ERR_CONNABORTED => SocketError.ConnectionAborted,
        ERR_CONNRESET => SocketError.ConnectionReset,
        ERR_NOTCONN => SocketError.NotConnected,
        ERR_INTR => SocketError.Interrupted,
        _ => SocketError.SocketError,
    };

    /// <summary>An exception for a failed call on an existing handle (no path involved).</summary>
    internal static Exception ForHandle(int error) => Kind(error) switch
    {
        ERR_BADF => new ArgumentException($"The handle is not an open descriptor: {Message(error)}", "handle"),
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

    /// <summary>An exception for a child that could not be started, as Process.Start throws it: a
    /// <see cref="System.ComponentModel.Win32Exception"/> carrying the platform code (errno / Win32 error).</summary>
    internal static System.ComponentModel.Win32Exception ForStart(int error, string fileName, string workingDirectory) =>
        new(error, $"An error occurred trying to start process '{fileName}' with working directory '{workingDirectory}'. {Message(error)}");

    /// <summary>A program not found on PATH, as Process.Start reports it: ENOENT, found without a failed call.</summary>
    internal static System.ComponentModel.Win32Exception ForProgramNotFound(string fileName, string workingDirectory) =>
        ForStart(CodeOf(ERR_NOENT), fileName, workingDirectory);

    /// <summary>A directory given as the program, as Process.Start on Unix refuses it (before any system call, so no error code).</summary>
    internal static System.ComponentModel.Win32Exception ForDirectoryAsProgram() =>
        new(0, "The FileName property should not be a directory unless UseShellExecute is set.");

    /// <summary>An option (a <see cref="ChildProcessOptions"/> property, or the ProcessStartInfo property of that name) that
    /// this system cannot honour.</summary>
    internal static PlatformNotSupportedException ForUnsupportedOption(string name) =>
        new($"{name} (ChildProcessOptions, or the ProcessStartInfo property of that name) is not supported on {PlatformName}.");

    /// <summary>A signal this system does not have (Windows has SIGKILL only), as .NET 11's Process.Signal refuses it.</summary>
    internal static PlatformNotSupportedException ForUnsupportedSignal(System.Runtime.InteropServices.PosixSignal signal) =>
        new($"The signal {signal} is not supported on {PlatformName}.");

    /// <summary>The running system's name, for messages.</summary>
    internal static string PlatformName =>
        OperatingSystem.IsLinux() ? "Linux"
        : OperatingSystem.IsWindows() ? "Windows"
        : OperatingSystem.IsMacOS() ? "macOS"
        : OperatingSystem.IsFreeBSD() ? "FreeBSD"
        : System.Runtime.InteropServices.RuntimeInformation.OSDescription;

    /// <summary>An exception for a failed pseudo-terminal call (open, resize): a system without pseudo consoles (Windows
    /// before 10 1809, wine's resize) as <see cref="PlatformNotSupportedException"/>, anything else as an IOException.</summary>
    internal static Exception ForTerminal(int error) => Kind(error) switch
    {
        ERR_OPNOTSUPP => new PlatformNotSupportedException($"Pseudo-terminals (this operation on them) are not supported on this version of {PlatformName}: {Message(error)}"),
        _ => new IOException(Message(error), HResult(error)),
    };

    /// <summary>
    /// Whether a read of a pseudo-terminal's master failed only because no process holds the terminal any more: Linux
    /// reports that as EIO (ni_pty_open) where other systems give a 0-byte read; the runtime's IOException carries the
    /// errno as its HResult. Either way it is the end of the output.
    /// </summary>
    internal static bool IsTerminalEnd(IOException exception) => OperatingSystem.IsLinux() && exception.HResult == LinuxEIO;

    /// <summary>EIO, the same number on every Linux architecture.</summary>
    private const int LinuxEIO = 5;

    /// <summary>An exception for a failed call on a started child (wait, kill).</summary>
    internal static System.ComponentModel.Win32Exception ForProcess(int error) => new(error, Message(error));
}
