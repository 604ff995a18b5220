namespace NoInherit.Native;

/// <summary>A descriptor that a child process started now would inherit.</summary>
/// <param name="Handle">The descriptor number (the HANDLE value on Windows).</param>
/// <param name="Kind">What it refers to.</param>
/// <param name="Target">A path, "pipe:[inode]", or a socket's family, type and addresses.</param>
/// <param name="Reason">Why a child would inherit it.</param>
public sealed record InheritableHandle(long Handle, HandleKind Kind, string Target, string Reason);
