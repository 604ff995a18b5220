using System;

namespace NoInherit.Native;

/// <summary>
/// What <see cref="ChildProcess.RunAndCaptureText(System.Diagnostics.ProcessStartInfo, TimeSpan?)"/> captured: .NET 11's
/// <c>System.Diagnostics.ProcessTextOutput</c>, with the same members.
/// </summary>
public sealed class ChildProcessTextOutput
{
    /// <summary>Creates a captured output.</summary>
    /// <param name="exitStatus">How the child ended.</param>
    /// <param name="standardOutput">Everything it wrote to standard output.</param>
    /// <param name="standardError">Everything it wrote to standard error.</param>
    /// <param name="processId">Its process id.</param>
    /// <exception cref="ArgumentNullException"><paramref name="exitStatus"/>, <paramref name="standardOutput"/> or
    /// <paramref name="standardError"/> is null.</exception>
    public ChildProcessTextOutput(ChildProcessExitStatus exitStatus, string standardOutput, string standardError, int processId)
    {
        ArgumentNullException.ThrowIfNull(exitStatus);
        ArgumentNullException.ThrowIfNull(standardOutput);
        ArgumentNullException.ThrowIfNull(standardError);
        ExitStatus = exitStatus;
        StandardOutput = standardOutput;
        StandardError = standardError;
        ProcessId = processId;
    }

    /// <summary>How the child ended.</summary>
    public ChildProcessExitStatus ExitStatus { get; }

    /// <summary>Everything the child wrote to standard output, decoded with the start info's encoding (UTF-8 by default).</summary>
    public string StandardOutput { get; }

    /// <summary>Everything the child wrote to standard error, decoded likewise.</summary>
    public string StandardError { get; }

    /// <summary>The child's process id.</summary>
    public int ProcessId { get; }
}
