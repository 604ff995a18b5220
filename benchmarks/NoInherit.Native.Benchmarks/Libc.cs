using System.Runtime.InteropServices;

namespace NoInherit.Native.Benchmarks;

/// <summary>The raw libc calls: the floor the library cannot beat.</summary>
public static unsafe partial class Libc
{
    public const int O_RDONLY = 0, O_CLOEXEC = 0x80000, F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1, F_DUPFD_CLOEXEC = 1030;

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int open(string path, int flags);

    [LibraryImport("libc")]
    public static partial int close(int fd);

    [LibraryImport("libc")]
    public static partial int fcntl(int fd, int command, int argument);

    [LibraryImport("libc")]
    public static partial int pipe2(int* fds, int flags);

    [LibraryImport("libc")]
    public static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc")]
    public static partial int fsync(int fd);

    public const int O_DIRECTORY = 0x10000;

    /// <summary>open + fsync + close of a file or a directory, as a caller makes File.Copy durable; throws on failure.</summary>
    public static void Fsync(string path, bool directory)
    {
        int fd = open(path, O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
        if (fd < 0)
            throw new System.IO.IOException($"open {path} failed");
        int rc = fsync(fd);
        close(fd);
        if (rc != 0)
            throw new System.IO.IOException($"fsync {path} failed");
    }
}
