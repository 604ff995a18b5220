using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Microsoft.Win32.SafeHandles;
using Xunit;

namespace NoInherit.Native.Tests;

/// <summary>
/// The managed side of the C ABI against the ABI itself: the NI_* constants of noinherit.h against the enums that mirror
/// them, the error codes the native side names, and what a creating call that fails leaves behind.
/// </summary>
public class InteropTests
{
    /// <summary>
    /// The public enums mirror three groups of constants under names of their own: the portable signal numbers are
    /// PosixSignal's values (SIGKILL's being .NET 11's, which ChildProcess names for net8.0 and net10.0), which the
    /// managed side passes to ni_signal_number and reads back from ni_wait_status as they are. Every other NI_* constant
    /// is a member of a nested enum of Interop, or a constant of Interop, named as its #define without NI_.
    /// </summary>
    private static readonly Dictionary<string, object> PublicMirrors = new()
    {
        ["NI_KIND_OTHER"] = HandleKind.Other,
        ["NI_KIND_FILE"] = HandleKind.RegularFile,
        ["NI_KIND_DIRECTORY"] = HandleKind.Directory,
        ["NI_KIND_SOCKET"] = HandleKind.Socket,
        ["NI_KIND_PIPE"] = HandleKind.Pipe,
        ["NI_KIND_CHARACTER_DEVICE"] = HandleKind.CharacterDevice,
        ["NI_CAP_OPEN_ATOMIC"] = NoInheritCapabilities.OpenAtomic,
        ["NI_CAP_SOCKET_ATOMIC"] = NoInheritCapabilities.SocketAtomic,
        ["NI_CAP_ACCEPT_ATOMIC"] = NoInheritCapabilities.AcceptAtomic,
        ["NI_CAP_PIPE_ATOMIC"] = NoInheritCapabilities.PipeAtomic,
        ["NI_CAP_DUP_ATOMIC"] = NoInheritCapabilities.DuplicateAtomic,
#pragma warning disable CA1416 // only the values are used: the enum's members exist on every platform
        ["NI_SIGHUP"] = PosixSignal.SIGHUP,
        ["NI_SIGINT"] = PosixSignal.SIGINT,
        ["NI_SIGQUIT"] = PosixSignal.SIGQUIT,
        ["NI_SIGTERM"] = PosixSignal.SIGTERM,
        ["NI_SIGCHLD"] = PosixSignal.SIGCHLD,
        ["NI_SIGCONT"] = PosixSignal.SIGCONT,
        ["NI_SIGWINCH"] = PosixSignal.SIGWINCH,
        ["NI_SIGTTIN"] = PosixSignal.SIGTTIN,
        ["NI_SIGTTOU"] = PosixSignal.SIGTTOU,
        ["NI_SIGTSTP"] = PosixSignal.SIGTSTP,
        ["NI_SIGKILL"] = ChildProcess.SIGKILL,
#pragma warning restore CA1416
    };

    /// <summary>What the managed side says each constant is: name -> value.</summary>
    private static Dictionary<string, long> ManagedConstants()
    {
        var constants = PublicMirrors.ToDictionary(pair => pair.Key, pair => Convert.ToInt64(pair.Value, CultureInfo.InvariantCulture));
        foreach (Type type in typeof(Interop).GetNestedTypes(BindingFlags.NonPublic).Where(t => t.IsEnum))
        {
            foreach (FieldInfo member in type.GetFields(BindingFlags.Public | BindingFlags.Static))
                constants.Add("NI_" + member.Name, Convert.ToInt64(member.GetRawConstantValue(), CultureInfo.InvariantCulture));
        }
        foreach (FieldInfo field in typeof(Interop).GetFields(BindingFlags.NonPublic | BindingFlags.Static))
        {
            if (field.IsLiteral && Regex.IsMatch(field.Name, "^[A-Z][A-Z0-9_]*$"))
                constants.Add("NI_" + field.Name, Convert.ToInt64(field.GetRawConstantValue(), CultureInfo.InvariantCulture));
        }
        return constants;
    }

    /// <summary>
    /// Every object-like #define NI_... of the header with its value: a number, possibly negative, parenthesised or cast
    /// ("((ni_handle)-1)"). NI_API, the export attribute, is the one that is not a number.
    /// </summary>
    private static Dictionary<string, long> HeaderConstants(List<string> problems)
    {
        string header = Path.Combine(AppContext.BaseDirectory, "noinherit.h");
        Assert.True(File.Exists(header), $"{header} is missing: the test project copies native/include/noinherit.h beside the tests.");
        var constants = new Dictionary<string, long>();
        foreach (string line in File.ReadLines(header))
        {
            Match define = Regex.Match(line, @"^\s*#\s*define\s+(NI_\w+)(.*)$");
            if (!define.Success || define.Groups[1].Value == "NI_API")
                continue;
            string name = define.Groups[1].Value;
            string text = Regex.Replace(define.Groups[2].Value, @"/\*.*$|//.*$", "");
            text = Regex.Replace(text, @"\(\s*[a-z_][a-z0-9_]*\s*\)", "").Replace("(", "").Replace(")", "").Trim();
            Match number = Regex.Match(text, @"^(-?)(?:0[xX]([0-9a-fA-F]+)|([0-9]+))$");
            if (!number.Success)
            {
                problems.Add($"{name}: value '{define.Groups[2].Value.Trim()}' is not a number this test can read");
                continue;
            }
            long value = number.Groups[2].Success
                ? long.Parse(number.Groups[2].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                : long.Parse(number.Groups[3].Value, CultureInfo.InvariantCulture);
            constants[name] = number.Groups[1].Value == "-" ? -value : value;
        }
        return constants;
    }

    [Fact]
    public void EveryHeaderConstant_HasAManagedMember_WithTheSameValue_AndNoMemberIsExtra()
    {
        var problems = new List<string>();
        Dictionary<string, long> header = HeaderConstants(problems);
        Dictionary<string, long> managed = ManagedConstants();
        // The parser reads each form the header uses: hex, decimal, negative in parentheses, a cast.
        Assert.Equal(0x100000, header["NI_O_SEQUENTIAL"]);
        Assert.Equal(27, header["NI_ERR_CANCELED"]);
        Assert.Equal(-1, header["NI_SPAWN_SAME_NUMBER"]);
        Assert.Equal(-1, header["NI_INVALID_HANDLE"]);
        foreach ((string name, long value) in header)
        {
            if (!managed.TryGetValue(name, out long mirrored))
                problems.Add($"{name} = {value}: no managed member");
            else if (mirrored != value)
                problems.Add($"{name}: header {value}, managed {mirrored}");
        }
        foreach ((string name, long value) in managed)
        {
            if (!header.ContainsKey(name))
                problems.Add($"{name} = {value}: a managed member the header does not define");
        }
        Assert.True(problems.Count == 0, "noinherit.h and the managed constants differ:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void ErrorCode_IsTheCodeOfItsClass_ForEveryClassThePlatformHas()
    {
        Assert.Equal(0, Interop.GetErrorCode(Interop.ErrorKind.ERR_OTHER));
        Assert.Equal(0, Interop.GetErrorCode((Interop.ErrorKind)10_000));
        // The classes the library reports without a failed native call of its own (Errors).
        foreach (Interop.ErrorKind needed in new[] { Interop.ErrorKind.ERR_NOENT, Interop.ErrorKind.ERR_ACCESS, Interop.ErrorKind.ERR_WOULDBLOCK })
            Assert.NotEqual(0, Interop.GetErrorCode(needed));
        foreach (Interop.ErrorKind kind in Enum.GetValues<Interop.ErrorKind>().Where(k => k != Interop.ErrorKind.ERR_OTHER))
        {
            int code = Interop.GetErrorCode(kind);
            if (code != 0)
                Assert.True(Interop.GetErrorKind(code) == kind, $"ni_error_code({kind}) = {code}, whose class is {Interop.GetErrorKind(code)}");
        }
    }

    /// <summary>
    /// The generated marshalling wraps whatever the out-parameter holds after the call; a failed call writes none, and
    /// the zero left there is a valid descriptor number. The handle a failed call gives back must own nothing: closed,
    /// so that neither a Dispose nor the finalizer closes descriptor 0.
    /// </summary>
    [Fact]
    public void FailedCreatingCalls_GiveBackAHandleThatOwnsNothing()
    {
        using var dir = new TempDirectory();
        Assert.NotEqual(0, Interop.Open(dir.Combine("missing", "file"), Interop.OpenFlags.O_RDONLY, 0, out SafeFileHandle file));
        Assert.True(file.IsClosed, $"a failed ni_open gave a handle that owns {file.DangerousGetHandle()}");

        Assert.NotEqual(0, Interop.Socket((Interop.AddressFamily)99, Interop.SocketType.SOCK_STREAM, 0, out SafeSocketHandle socket));
        Assert.True(socket.IsClosed, $"a failed ni_socket gave a handle that owns {socket.DangerousGetHandle()}");

        using var notListening = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Assert.NotEqual(0, Interop.Accept(notListening.SafeHandle, out SafeSocketHandle accepted));
        Assert.True(accepted.IsClosed, $"a failed ni_accept gave a handle that owns {accepted.DangerousGetHandle()}");

        using var notOpen = new SafeFileHandle(1 << 20, ownsHandle: false);
        Assert.NotEqual(0, Interop.Dup(notOpen, out SafeFileHandle duplicate));
        Assert.True(duplicate.IsClosed, $"a failed ni_dup gave a handle that owns {duplicate.DangerousGetHandle()}");
    }

    [Fact]
    public void SucceededCreatingCalls_GiveBackAHandleThatOwnsTheNewDescriptor()
    {
        Assert.Equal(0, Interop.Pipe(out SafeFileHandle read, out SafeFileHandle write));
        using (read)
        using (write)
        {
            Assert.False(read.IsInvalid || read.IsClosed || write.IsInvalid || write.IsClosed);
            Assert.NotEqual(read.DangerousGetHandle(), write.DangerousGetHandle());
            Assert.False(Inheritance.IsInheritable(read));
        }
        Assert.True(read.IsClosed);
    }
}
