using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>Calls on a caller's SafeHandle, holding a reference so that it cannot be closed (and its number reused) mid-call.</summary>
internal static class HandleCall
{
    internal static int Invoke<TResult>(SafeHandle handle, Func<nint, (int Error, TResult Result)> call, out TResult result)
    {
        ArgumentNullException.ThrowIfNull(handle);
        if (handle.IsClosed)
            throw new ObjectDisposedException(handle.GetType().FullName, "Cannot access a closed handle.");
        if (handle.IsInvalid)
            throw new ArgumentException("The handle is invalid.", nameof(handle));
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            (int error, result) = call(handle.DangerousGetHandle());
            return error;
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }
}

/// <summary>
/// Gives a SafeFileHandle we opened the state the BCL keeps for handles it opens itself: the path
/// (FileStream.Name, exception messages) and, on Unix, delete-on-close, which the BCL emulates by removing
/// the name when the handle is released. The fields are private to CoreLib and reached with UnsafeAccessor
/// (trimming- and AOT-safe); where a runtime lacks them, the name is skipped and DeleteOnClose refused.
/// </summary>
internal static class HandleState
{
    private static bool s_noPathField;

    internal static void SetPath(SafeFileHandle handle, string path, bool deleteOnClose)
    {
        if (!s_noPathField)
        {
            try
            {
                PathField(handle) = path;
            }
            catch (MissingFieldException)
            {
                s_noPathField = true;
            }
        }
        if (deleteOnClose && !OperatingSystem.IsWindows())
        {
            try
            {
                DeleteOnCloseField(handle) = true;
            }
            catch (MissingFieldException)
            {
                throw new PlatformNotSupportedException("FileOptions.DeleteOnClose is not supported on this runtime.");
            }
        }
    }

    /// <summary>
    /// On Unix, what the BCL records when it opens a handle itself: IsAsync (which FileStream checks against its
    /// isAsync argument) and whether it took an flock (released before close, as the BCL does, so that a
    /// duplicate or a child's copy of the descriptor does not keep the file locked).
    /// </summary>
    internal static void SetUnixState(SafeFileHandle handle, bool isAsync, bool isLocked)
    {
        if (OperatingSystem.IsWindows())
            return;
        try
        {
            if (isAsync)
                SetIsAsync(handle, true);
            if (isLocked)
                IsLockedField(handle) = true;
        }
        catch (Exception e) when (e is MissingFieldException or MissingMethodException)
        {
            if (isAsync)
                throw new PlatformNotSupportedException("FileOptions.Asynchronous is not supported on this runtime.");
        }
    }

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "set_IsAsync")]
    private static extern void SetIsAsync(SafeFileHandle handle, bool value);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_isLocked")]
    private static extern ref bool IsLockedField(SafeFileHandle handle);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_path")]
    private static extern ref string? PathField(SafeFileHandle handle);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_deleteOnClose")]
    private static extern ref bool DeleteOnCloseField(SafeFileHandle handle);
}
