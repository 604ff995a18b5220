namespace NoInherit.Native;

/// <summary>What a descriptor refers to.</summary>
public enum HandleKind
{
    /// <summary>Anything else (an event, an anonymous inode, a block device, ...).</summary>
    Other = 0,
    /// <summary>A regular file.</summary>
    RegularFile = 1,
    /// <summary>A directory.</summary>
    Directory = 2,
    /// <summary>A socket.</summary>
    Socket = 3,
    /// <summary>A pipe or FIFO.</summary>
    Pipe = 4,
    /// <summary>A character device (a terminal, /dev/null, a console).</summary>
    CharacterDevice = 5,
}
