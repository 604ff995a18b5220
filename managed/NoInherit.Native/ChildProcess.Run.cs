using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace NoInherit.Native;

/// <summary>
/// .NET 11's one-call process scenarios (<c>Process.Run</c>, <c>RunAsync</c>, <c>RunAndCaptureText</c>,
/// <c>RunAndCaptureTextAsync</c>, <c>StartAndForget</c>) with its overloads, parameter names and rules, on every target
/// framework; the child gets only its standard streams.
/// </summary>
public sealed partial class ChildProcess
{
    /// <summary>
    /// Starts the program, waits for it to exit and gives its exit status, as .NET 11's <c>Process.Run</c>. Its standard
    /// streams are this process's (or the start info's Standard*Handle on .NET 11). When <paramref name="timeout"/> runs
    /// out, the child is killed and the status says <see cref="ChildProcessExitStatus.Canceled"/>.
    /// </summary>
    /// <param name="startInfo">What to run; the Redirect* properties must be off (nobody would read the pipes).</param>
    /// <param name="timeout">How long to wait before killing it; null: no limit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A Redirect* property is set.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or too large.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcessExitStatus Run(ProcessStartInfo startInfo, TimeSpan? timeout = null) => RunCore(startInfo, null, timeout);

    /// <summary>
    /// <see cref="Run(ProcessStartInfo, TimeSpan?)"/> with what <paramref name="options"/> adds (handles, standard handles,
    /// the process options), as <see cref="Start(ProcessStartInfo, ChildProcessOptions)"/> takes them.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A Redirect* property is set.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or too large.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcessExitStatus Run(ProcessStartInfo startInfo, ChildProcessOptions options, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RunCore(startInfo, options, timeout);
    }

    private static ChildProcessExitStatus RunCore(ProcessStartInfo startInfo, ChildProcessOptions? options, TimeSpan? timeout)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        int milliseconds = timeout.HasValue ? ToTimeoutMilliseconds(timeout.Value) : Timeout.Infinite;
        ThrowIfRedirected(startInfo);
        using ChildProcess child = StartCore(startInfo, options, null, nameof(options));
        return child.WaitForExitOrKillOnTimeout(TimeSpan.FromMilliseconds(milliseconds));
    }

    /// <summary>
    /// Runs <paramref name="fileName"/> with <paramref name="arguments"/> and gives its exit status, as .NET 11's
    /// <c>Process.Run</c>. With <paramref name="silent"/> its three standard streams are the null device; otherwise
    /// this process's. When <paramref name="timeout"/> runs out, the child is killed (Canceled status).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (but infinite) or too large.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcessExitStatus Run(string fileName, IEnumerable<string>? arguments = null, bool silent = false, TimeSpan? timeout = null)
    {
        ProcessStartInfo startInfo = StartInfoFor(fileName, arguments);
        int milliseconds = timeout.HasValue ? ToTimeoutMilliseconds(timeout.Value) : Timeout.Infinite;
        using ChildProcess child = StartCore(startInfo, null, null, nameof(fileName), nullForUnset: silent);
        return child.WaitForExitOrKillOnTimeout(TimeSpan.FromMilliseconds(milliseconds));
    }

    /// <summary>
    /// The asynchronous <see cref="Run(ProcessStartInfo, TimeSpan?)"/>, as .NET 11's <c>Process.RunAsync</c>: cancelling
    /// <paramref name="cancellationToken"/> kills the child, and the status says Canceled (a token cancelled already
    /// starts the child and kills it at once, as there).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A Redirect* property is set.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static Task<ChildProcessExitStatus> RunAsync(ProcessStartInfo startInfo, CancellationToken cancellationToken = default) =>
        RunAsyncCore(startInfo, null, cancellationToken);

    /// <summary><see cref="RunAsync(ProcessStartInfo, CancellationToken)"/> with what <paramref name="options"/> adds.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A Redirect* property is set.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static Task<ChildProcessExitStatus> RunAsync(ProcessStartInfo startInfo, ChildProcessOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RunAsyncCore(startInfo, options, cancellationToken);
    }

    private static Task<ChildProcessExitStatus> RunAsyncCore(ProcessStartInfo startInfo, ChildProcessOptions? options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        ThrowIfRedirected(startInfo);
        return WaitAndDisposeAsync(StartCore(startInfo, options, null, nameof(options)), cancellationToken);
    }

    /// <summary>The asynchronous <see cref="Run(string, IEnumerable{string}, bool, TimeSpan?)"/>, as .NET 11's <c>Process.RunAsync</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> is null.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static Task<ChildProcessExitStatus> RunAsync(string fileName, IEnumerable<string>? arguments = null, bool silent = false,
        CancellationToken cancellationToken = default)
    {
        ProcessStartInfo startInfo = StartInfoFor(fileName, arguments);
        return WaitAndDisposeAsync(StartCore(startInfo, null, null, nameof(fileName), nullForUnset: silent), cancellationToken);
    }

    /// <summary>
    /// Runs the program and captures its standard output and standard error as text, both read at once, as .NET 11's
    /// <c>Process.RunAndCaptureText</c>. When <paramref name="timeout"/> runs out while the output is still coming, the
    /// child is killed and <see cref="TimeoutException"/> thrown; when it runs out after the output ended but before the
    /// exit, the child is killed and the result says Canceled. A redirected standard input is closed at once (unlike
    /// .NET 11, where it stays open, and a child that reads it waits forever): the child reads end-of-file.
    /// </summary>
    /// <param name="startInfo">What to run; RedirectStandardOutput and RedirectStandardError must both be set.</param>
    /// <param name="timeout">How long the whole run may take; null: no limit.</param>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The outputs are not both redirected.</exception>
    /// <exception cref="TimeoutException">The output did not end in time (the child was killed).</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcessTextOutput RunAndCaptureText(ProcessStartInfo startInfo, TimeSpan? timeout = null) =>
        RunAndCaptureTextCore(startInfo, null, timeout);

    /// <summary>
    /// <see cref="RunAndCaptureText(ProcessStartInfo, TimeSpan?)"/> with what <paramref name="options"/> adds; with
    /// <see cref="ChildProcessOptions.OutputDrainTimeout"/>, a descendant that holds the output pipes after the child
    /// exited delays the result by that time at most, and the text is what was read by then.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The outputs are not both redirected.</exception>
    /// <exception cref="TimeoutException">The output did not end in time (the child was killed).</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcessTextOutput RunAndCaptureText(ProcessStartInfo startInfo, ChildProcessOptions options, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RunAndCaptureTextCore(startInfo, options, timeout);
    }

    private static ChildProcessTextOutput RunAndCaptureTextCore(ProcessStartInfo startInfo, ChildProcessOptions? options, TimeSpan? timeout)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        int milliseconds = timeout.HasValue ? ToTimeoutMilliseconds(timeout.Value) : Timeout.Infinite;
        ThrowIfNotCapturing(startInfo);
        long deadline = Environment.TickCount64 + milliseconds;
        using ChildProcess child = StartCore(startInfo, options, null, nameof(options));
        child._standardInput?.Close();
        (string output, string error) text;
        try
        {
            text = child.ReadAllText(timeout.HasValue ? TimeSpan.FromMilliseconds(milliseconds) : null);
        }
        catch (TimeoutException)
        {
            child.WaitForExitOrKillOnTimeout(TimeSpan.Zero);
            throw;
        }
        int left = milliseconds < 0 ? Timeout.Infinite : (int)Math.Max(0, deadline - Environment.TickCount64);
        ChildProcessExitStatus status = child.WaitForExitOrKillOnTimeout(TimeSpan.FromMilliseconds(left));
        return new ChildProcessTextOutput(status, text.output, text.error, child.Id);
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/>, both outputs captured, as .NET 11's
    /// <c>Process.RunAndCaptureText</c>; see <see cref="RunAndCaptureText(ProcessStartInfo, TimeSpan?)"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> is null.</exception>
    /// <exception cref="TimeoutException">The output did not end in time (the child was killed).</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static ChildProcessTextOutput RunAndCaptureText(string fileName, IEnumerable<string>? arguments = null, TimeSpan? timeout = null) =>
        RunAndCaptureText(Capturing(StartInfoFor(fileName, arguments)), timeout);

    /// <summary>
    /// The asynchronous <see cref="RunAndCaptureText(ProcessStartInfo, TimeSpan?)"/>, as .NET 11's
    /// <c>Process.RunAndCaptureTextAsync</c>: cancelling while the output is still coming kills the child and throws
    /// <see cref="OperationCanceledException"/>; cancelling after it ended kills the child and the result says Canceled.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The outputs are not both redirected.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while the output was coming (the child was killed).</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static Task<ChildProcessTextOutput> RunAndCaptureTextAsync(ProcessStartInfo startInfo, CancellationToken cancellationToken = default) =>
        RunAndCaptureTextAsyncCore(startInfo, null, cancellationToken);

    /// <summary><see cref="RunAndCaptureTextAsync(ProcessStartInfo, CancellationToken)"/> with what <paramref name="options"/>
    /// adds (see <see cref="RunAndCaptureText(ProcessStartInfo, ChildProcessOptions, TimeSpan?)"/>).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> or <paramref name="options"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The outputs are not both redirected.</exception>
    /// <exception cref="OperationCanceledException">Cancelled while the output was coming (the child was killed).</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static Task<ChildProcessTextOutput> RunAndCaptureTextAsync(ProcessStartInfo startInfo, ChildProcessOptions options,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        return RunAndCaptureTextAsyncCore(startInfo, options, cancellationToken);
    }

    private static async Task<ChildProcessTextOutput> RunAndCaptureTextAsyncCore(ProcessStartInfo startInfo, ChildProcessOptions? options,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        ThrowIfNotCapturing(startInfo);
        using ChildProcess child = StartCore(startInfo, options, null, nameof(options));
        child._standardInput?.Close();
        (string output, string error) text;
        try
        {
            text = await child.ReadAllTextAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            child.WaitForExitOrKillOnTimeout(TimeSpan.Zero);
            throw;
        }
        ChildProcessExitStatus status = await child.WaitForExitOrKillOnCancellationAsync(cancellationToken).ConfigureAwait(false);
        return new ChildProcessTextOutput(status, text.output, text.error, child.Id);
    }

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="arguments"/>, both outputs captured, as .NET 11's
    /// <c>Process.RunAndCaptureTextAsync</c>; see <see cref="RunAndCaptureTextAsync(ProcessStartInfo, CancellationToken)"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> is null.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static Task<ChildProcessTextOutput> RunAndCaptureTextAsync(string fileName, IEnumerable<string>? arguments = null,
        CancellationToken cancellationToken = default) =>
        RunAndCaptureTextAsync(Capturing(StartInfoFor(fileName, arguments)), cancellationToken);

    /// <summary>
    /// Starts the program and lets it go: gives its process id and keeps nothing of it, as .NET 11's
    /// <c>Process.StartAndForget</c>. Every standard stream not given a handle (the start info's Standard*Handle on
    /// .NET 11) is the null device, so the child neither waits on this process's input nor writes to its output. Use it
    /// for a child you will not wait for; its exit is still collected (no zombie is left).
    /// </summary>
    /// <returns>The child's process id.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="startInfo"/> is null.</exception>
    /// <exception cref="InvalidOperationException">A Redirect* property, or UseShellExecute, is set.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static int StartAndForget(ProcessStartInfo startInfo)
    {
        ArgumentNullException.ThrowIfNull(startInfo);
        if (startInfo.UseShellExecute)
            throw new InvalidOperationException("UseShellExecute is not supported by ChildProcess.StartAndForget.");
        ThrowIfRedirected(startInfo);
        using ChildProcess child = StartCore(startInfo, null, null, nameof(startInfo), nullForUnset: true);
        return child.Id;
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/> and lets it go, as .NET 11's
    /// <c>Process.StartAndForget</c>; its three standard streams are the null device.</summary>
    /// <returns>The child's process id.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="fileName"/> is null.</exception>
    /// <exception cref="Win32Exception">The program could not be started.</exception>
    public static int StartAndForget(string fileName, IEnumerable<string>? arguments = null) => StartAndForget(StartInfoFor(fileName, arguments));

    private static async Task<ChildProcessExitStatus> WaitAndDisposeAsync(ChildProcess child, CancellationToken cancellationToken)
    {
        using (child)
            return await child.WaitForExitOrKillOnCancellationAsync(cancellationToken).ConfigureAwait(false);
    }

    private static ProcessStartInfo StartInfoFor(string fileName, IEnumerable<string>? arguments)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        var startInfo = new ProcessStartInfo(fileName);
        if (arguments != null)
        {
            foreach (string argument in arguments)
                startInfo.ArgumentList.Add(argument);
        }
        return startInfo;
    }

    private static ProcessStartInfo Capturing(ProcessStartInfo startInfo)
    {
        startInfo.RedirectStandardOutput = startInfo.RedirectStandardError = true;
        return startInfo;
    }

    private static void ThrowIfRedirected(ProcessStartInfo startInfo)
    {
        if (startInfo.RedirectStandardInput || startInfo.RedirectStandardOutput || startInfo.RedirectStandardError)
        {
            throw new InvalidOperationException("The RedirectStandardInput, RedirectStandardOutput, and RedirectStandardError properties cannot be " +
                "used by ChildProcess.Run or ChildProcess.StartAndForget. Give the child a handle with ChildProcessOptions.StandardInputHandle, " +
                "StandardOutputHandle, and StandardErrorHandle (ChildProcess.Start) instead.");
        }
    }

    private static void ThrowIfNotCapturing(ProcessStartInfo startInfo)
    {
        if (!startInfo.RedirectStandardOutput || !startInfo.RedirectStandardError)
            throw new InvalidOperationException("RedirectStandardOutput and RedirectStandardError must both be set to true when calling ChildProcess.RunAndCaptureText with a ProcessStartInfo.");
    }
}
