using System;
using System.IO;

namespace NoInherit.Native;

public static partial class NoInheritFile
{
    /// <summary>
    /// Copies an existing file to a new file, as <see cref="File.Copy(string, string, bool)"/>; both files are
    /// opened non-inheritable, so a child started during the copy holds neither.
    /// </summary>
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
    public static void Copy(string sourceFileName, string destFileName, bool overwrite = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourceFileName);
        ArgumentException.ThrowIfNullOrEmpty(destFileName);
        string source = Path.GetFullPath(sourceFileName);
        string destination = Path.GetFullPath(destFileName);

        int error = Interop.CopyFile(source, destination, overwrite ? Interop.COPY_OVERWRITE : 0);
        if (error != 0)
            throw Errors.ForCopy(error, source, destination);
    }
}
