using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Microsoft.Win32.SafeHandles;

namespace NoInherit.Native;

/// <summary>
/// The pipe through which a <see cref="HotRestart"/> successor says it is ready, named to it by <c>NOINHERIT_READY</c>:
/// on Unix an anonymous pipe whose write end the successor gets as a descriptor (the variable holds its number); on
/// Windows, where a passed handle's value in the child cannot be put in its environment, a named pipe of this user's
/// (the variable holds its name). The predecessor side is an instance; the successor side the static members.
/// </summary>
internal abstract class ReadyChannel : IDisposable
{
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Sets up the channel for a successor about to be started with <paramref name="startInfo"/> and
    /// <paramref name="options"/>; <paramref name="descriptor"/>: the number its write end gets on Unix.</summary>
    internal static ReadyChannel Create(ProcessStartInfo startInfo, ChildProcessOptions options, int descriptor) =>
        OperatingSystem.IsWindows() ? new NamedPipe(startInfo) : new Descriptor(startInfo, options, descriptor);

    /// <summary>The successor has been started.</summary>
    internal virtual void Started()
    {
    }

    /// <summary>true once the successor has signalled; false if the pipe ended first.</summary>
    internal abstract Task<bool> WaitAsync();

    public abstract void Dispose();

    /// <summary>The successor's side: the variable's value, taken (Unix: the descriptor made close-on-exec), or null if it names nothing usable.</summary>
    internal static string? Take(string value)
    {
        if (OperatingSystem.IsWindows())
            return value.Length > 0 ? value : null;
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int descriptor) || descriptor < 3)
            return null;
        using var handle = new SafeFileHandle(descriptor, ownsHandle: false);
        return Interop.SetInheritable(handle, 0) == 0 ? value : null; // not open: nothing was passed
    }

    /// <summary>The successor's side: one byte through the channel <see cref="Take"/> kept; false if nobody reads it any more.</summary>
    internal static bool Signal(string value)
    {
        try
        {
            using Stream stream = OperatingSystem.IsWindows() ? Connect(value)
                : new FileStream(new SafeFileHandle(int.Parse(value, CultureInfo.InvariantCulture), ownsHandle: true), FileAccess.Write, 1);
            stream.WriteByte(1);
            stream.Flush();
            return true;
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            return false; // the predecessor gave up waiting
        }
    }

    private static NamedPipeClientStream Connect(string name)
    {
        var pipe = new NamedPipeClientStream(".", name, PipeDirection.Out, PipeOptions.CurrentUserOnly);
        try
        {
            pipe.Connect(s_connectTimeout);
            return pipe;
        }
        catch
        {
            pipe.Dispose();
            throw;
        }
    }

    private sealed class Descriptor : ReadyChannel
    {
        private readonly FileStream _reader;
        private SafeFileHandle? _writeEnd;

        internal Descriptor(ProcessStartInfo startInfo, ChildProcessOptions options, int descriptor)
        {
            NoInheritFile.CreateAnonymousPipe(out SafeFileHandle readEnd, out SafeFileHandle writeEnd);
            _reader = new FileStream(readEnd, FileAccess.Read, 1);
            _writeEnd = writeEnd;
            startInfo.Environment[HotRestart.ReadyVariable] = descriptor.ToString(CultureInfo.InvariantCulture);
            options.InheritedHandlesByNumber = new Dictionary<int, SafeHandle> { [descriptor] = writeEnd };
        }

        internal override void Started()
        {
            _writeEnd?.Dispose();
            _writeEnd = null;
        }

        internal override Task<bool> WaitAsync() => Task.Run(() => _reader.Read(new byte[1], 0, 1) == 1);

        public override void Dispose()
        {
            Started();
            _reader.Dispose();
        }
    }

    private sealed class NamedPipe : ReadyChannel
    {
        private readonly NamedPipeServerStream _pipe;

        internal NamedPipe(ProcessStartInfo startInfo)
        {
            string name = $"NoInherit.Ready.{Guid.NewGuid():N}";
            _pipe = new NamedPipeServerStream(name, PipeDirection.In, 1, PipeTransmissionMode.Byte, PipeOptions.Asynchronous | PipeOptions.CurrentUserOnly);
            startInfo.Environment[HotRestart.ReadyVariable] = name;
        }

        internal override async Task<bool> WaitAsync()
        {
            await _pipe.WaitForConnectionAsync().ConfigureAwait(false);
            return await _pipe.ReadAsync(new byte[1]).ConfigureAwait(false) == 1;
        }

        public override void Dispose() => _pipe.Dispose();
    }
}
