using System;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// Gives a SafeFileHandle we opened the state the BCL keeps for handles it opens itself: the path (FileStream.Name,
/// exception messages) and, on Unix, delete-on-close (which the BCL emulates by removing the name when the handle is
/// released), IsAsync and the lock to release before close. The fields are private to CoreLib (<see cref="BclInternals"/>,
/// which says what happens where one is missing).
/// </summary>
internal static class HandleState
{
    private static bool s_noPathField;
    private static readonly bool s_filesNeverAsync = Environment.Version.Major >= 11;

    internal static void SetPath(SafeFileHandle handle, string path, bool deleteOnClose)
    {
        if (!s_noPathField)
        {
            try
            {
                BclInternals.FilePath(handle) = path;
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
                BclInternals.FileDeleteOnClose(handle) = true;
            }
            catch (MissingFieldException)
            {
                throw new PlatformNotSupportedException("FileOptions.DeleteOnClose is not supported on this runtime.");
            }
        }
    }

    /// <summary>
    /// On Unix, what the BCL records when it opens a handle itself: IsAsync (which FileStream checks against its
    /// isAsync argument) and whether it took an flock (released before close, as the BCL does, so that a duplicate or a
    /// child's copy of the descriptor does not keep the file locked).
    /// </summary>
    /// <remarks>From .NET 11 on, the BCL leaves IsAsync false for every file it opens on Unix, FileOptions.Asynchronous or
    /// not (FileStream then reports IsAsync false as well), so nothing is recorded there: the running runtime decides, as
    /// it is the one File.OpenHandle is compared with.</remarks>
    internal static void SetUnixState(SafeFileHandle handle, bool isAsync, bool isLocked)
    {
        if (OperatingSystem.IsWindows())
            return;
        if (isAsync && !s_filesNeverAsync)
        {
            try
            {
                BclInternals.SetFileIsAsync(handle, true);
            }
            catch (MissingMethodException)
            {
                throw new PlatformNotSupportedException("FileOptions.Asynchronous is not supported on this runtime.");
            }
        }
        if (isLocked)
        {
            try
            {
                BclInternals.FileIsLocked(handle) = true;
            }
            catch (MissingFieldException)
            {
                // released at close instead, a moment later
            }
        }
    }
}
