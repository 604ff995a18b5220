using System;

namespace NoInherit.Native;

/// <summary>Which creating calls are atomic (non-inheritable in the creating call itself) on this system.</summary>
[Flags]
public enum NoInheritCapabilities
{
    /// <summary>No creation is atomic.</summary>
    None = 0,
    /// <summary>Opening files (and the copy's two files): O_CLOEXEC / bInheritHandle=FALSE.</summary>
    OpenAtomic = 0x0001,
    /// <summary>Creating sockets: SOCK_CLOEXEC / WSA_FLAG_NO_HANDLE_INHERIT.</summary>
    SocketAtomic = 0x0002,
    /// <summary>Accepting connections: accept4 with SOCK_CLOEXEC.</summary>
    AcceptAtomic = 0x0004,
    /// <summary>Creating pipes: pipe2 with O_CLOEXEC / CreatePipe.</summary>
    PipeAtomic = 0x0008,
    /// <summary>Duplicating handles: F_DUPFD_CLOEXEC / DuplicateHandle.</summary>
    DuplicateAtomic = 0x0010,
}
