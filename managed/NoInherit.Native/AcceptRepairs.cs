using System.Net.Sockets;
using System.Threading;

namespace NoInherit.Native;

/// <summary>
/// Checks the sockets that an accept outside this library (the runtime's asynchronous accept) returns, and repairs
/// one that is inheritable: the runtime creates them non-inheritable where the system can (accept4, AcceptEx into a
/// WSA_FLAG_NO_HANDLE_INHERIT socket), but a Winsock provider can drop the flag. A repair means the accept was not
/// atomic, which <see cref="Inheritance.Capabilities"/> reports from then on.
/// </summary>
internal sealed class AcceptRepairs
{
    private int _count;

    /// <summary>Whether any accepted socket had to be repaired.</summary>
    internal bool Any => Volatile.Read(ref _count) != 0;

    /// <summary>Returns <paramref name="accepted"/>, non-inheritable; disposes it if it cannot be made so.</summary>
    internal Socket Check(Socket accepted)
    {
        try
        {
            if (Inheritance.IsInheritable(accepted.SafeHandle))
            {
                Inheritance.SetInheritable(accepted.SafeHandle, false);
                Interlocked.Increment(ref _count);
            }
        }
        catch
        {
            accepted.Dispose();
            throw;
        }
        return accepted;
    }
}
