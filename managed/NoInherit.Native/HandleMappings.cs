using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>
/// The ni_fd_mapping array of a spawn: each handle the child receives, under its target number. ni_spawn takes the
/// handles inside an array of structs, for which the generated marshalling holds no reference, so this is the one place
/// that counts references by hand: each handle is held (DangerousAddRef) from the moment it is added until
/// <see cref="Dispose"/>, after ni_spawn has returned, so that no handle can be closed, and its number reused by another
/// file, while the child is being given it.
/// </summary>
internal sealed class HandleMappings : IDisposable
{
    // Created at the first Add: most starts give the child nothing but this process's standard streams.
    private List<Interop.FdMapping>? _mappings;
    private List<SafeHandle>? _held;
    private HashSet<int>? _targets;

    /// <summary>
    /// Lists <paramref name="handle"/> under <paramref name="target"/> (<see cref="Interop.SPAWN_SAME_NUMBER"/>: its own
    /// number, or value on Windows, where two handles never share one).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The handle is closed.</exception>
    /// <exception cref="ArgumentException">The handle is invalid, or its number is another's.</exception>
    internal void Add(SafeHandle handle, int target, string paramName)
    {
        Inheritance.ThrowIfUnusable(handle, paramName);
        bool added = false;
        handle.DangerousAddRef(ref added);
        (_held ??= new()).Add(handle);
        nint value = handle.DangerousGetHandle();
        int effective = target == Interop.SPAWN_SAME_NUMBER && !OperatingSystem.IsWindows() ? checked((int)value) : target;
        if (effective != Interop.SPAWN_SAME_NUMBER && !(_targets ??= new()).Add(effective))
            throw new ArgumentException($"Two handles are given the number {effective} in the child (a redirected standard stream counts).", paramName);
        (_mappings ??= new()).Add(new Interop.FdMapping { Source = value, Target = target });
    }

    /// <summary>The mappings, in the order added; valid until the next <see cref="Add"/>.</summary>
    internal ReadOnlySpan<Interop.FdMapping> AsSpan() => _mappings is null ? default : CollectionsMarshal.AsSpan(_mappings);

    /// <summary>Releases the handles.</summary>
    public void Dispose()
    {
        if (_held is null)
            return;
        foreach (SafeHandle handle in _held)
            handle.DangerousRelease();
        _held.Clear();
    }
}
