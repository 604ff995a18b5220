using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NoInherit.Native;

/// <summary>
/// Finds libnoinherit when the runtime's own probing does not: an assembly copied into an app without
/// NuGet, with the package's runtimes/ folder beside it. It walks the RID fallback chain of the running
/// system (never from musl to glibc) and, when nothing fits, says what it tried and how to fix it.
/// With NativeAOT and DirectPInvoke the library is linked in and this is never consulted.
/// </summary>
internal static partial class NativeLibraryResolver
{
#pragma warning disable CA2255 // a library's module initializer is the one place that runs before any P/Invoke
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register()
    {
        try
        {
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
        }
        catch (InvalidOperationException)
        {
            // The host already set a resolver for this assembly; it is in charge.
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName != Interop.Library)
            return 0;
        if (NativeLibrary.TryLoad(libraryName, assembly, searchPath, out nint handle))
            return handle;

        string fileName = FileName();
        // The app's directory: where a vendored copy of the assembly and its runtimes/ folder live
        // (Assembly.Location would be empty in a single-file app).
        string baseDirectory = AppContext.BaseDirectory;
        var tried = new List<string>();
        foreach (string rid in RidChain(RuntimeInformation.RuntimeIdentifier, RuntimeInformation.ProcessArchitecture))
        {
            string candidate = Path.Combine(baseDirectory, "runtimes", rid, "native", fileName);
            tried.Add(candidate);
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out handle))
                return handle;
        }
        // ShippedRids: generated from NiShippedRids at build time (NoInherit.Native.csproj).
        throw new DllNotFoundException(
            $"NoInherit.Native could not find its native library '{fileName}' for the runtime identifier " +
            $"'{RuntimeInformation.RuntimeIdentifier}'. Tried the runtime's probing for '{libraryName}' and: " +
            string.Join(", ", tried) + $". The NoInherit.Native package carries it for {ShippedRids}: reference the " +
            $"package, or copy its runtimes/<rid>/native/{fileName} beside the app, keeping the runtimes folder layout. " +
            $"For any other runtime identifier (macOS included), build it from the sources with CMake and put {fileName} " +
            "beside the app (README, \"Platforms\").");
    }

    private static string FileName() =>
        OperatingSystem.IsWindows() ? "noinherit.dll" : OperatingSystem.IsMacOS() ? "libnoinherit.dylib" : "libnoinherit.so";

    /// <summary>
    /// The running RID, then the portable RIDs it may use, nearest first. musl never falls back to a glibc
    /// (linux-*) asset, which would not load; a distro RID such as ubuntu.22.04-x64 reaches linux-x64.
    /// </summary>
    internal static IEnumerable<string> RidChain(string rid, Architecture architecture)
    {
        string arch = architecture.ToString().ToLowerInvariant();
        var chain = new List<string> { rid };
        if (OperatingSystem.IsWindows())
            chain.AddRange([$"win-{arch}", "win"]);
        else if (OperatingSystem.IsMacOS())
            chain.AddRange([$"osx-{arch}", "osx", "unix"]);
        else if (rid.Contains("musl", StringComparison.Ordinal))
            chain.AddRange([$"linux-musl-{arch}", "linux-musl"]);
        else
            chain.AddRange([$"linux-{arch}", "linux", "unix"]);
        return chain.Distinct();
    }
}
