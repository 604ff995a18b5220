using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

internal static unsafe partial class Interop
{
    // ---- Pseudo-terminals (ChildProcess.Terminal). Their handles are owned by SafePseudoTerminalHandle (input, output)
    // and SafePseudoConsoleHandle (console), each of which closes its part with ni_pty_close on a copy naming it alone. ----

    /// <summary>ni_pty. POSIX: Input and Output are one descriptor, the master; Console is the slave. Windows: our ends of
    /// two pipes and the pseudo console (an HPCON).</summary>
    internal struct PtyInfo
    {
        public nint Input;
        public nint Output;
        public nint Console;
    }

    /// <summary>ni_pty_open: every handle non-inheritable; nothing is open after a failure.</summary>
    [LibraryImport(Library, EntryPoint = "ni_pty_open")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int PtyOpen(int columns, int rows, PtyInfo* result);

    /// <summary>ni_pty_resize: TIOCSWINSZ on the master (POSIX), ResizePseudoConsole on the console (Windows).</summary>
    [LibraryImport(Library, EntryPoint = "ni_pty_resize")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int PtyResize(PtyInfo* pty, int columns, int rows);

    /// <summary>ni_pty_close: closes every handle of the struct that is not NI_INVALID_HANDLE.</summary>
    [LibraryImport(Library, EntryPoint = "ni_pty_close")]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    internal static partial int PtyClose(PtyInfo* pty);
}
