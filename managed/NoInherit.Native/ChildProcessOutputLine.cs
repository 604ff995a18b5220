namespace NoInherit.Native;

/// <summary>
/// One line a child wrote to its standard output or standard error (<see cref="ChildProcess.ReadAllLines"/>): .NET 11's
/// <c>System.Diagnostics.ProcessOutputLine</c>, with the same members.
/// </summary>
public readonly struct ChildProcessOutputLine
{
    /// <summary>Creates an output line.</summary>
    /// <param name="content">The text of the line, without its line break.</param>
    /// <param name="standardError">Whether it was read from standard error (else standard output).</param>
    public ChildProcessOutputLine(string content, bool standardError)
    {
        Content = content;
        StandardError = standardError;
    }

    /// <summary>The text of the line, without its line break.</summary>
    public string Content { get; }

    /// <summary>Whether the line was read from standard error; false: standard output.</summary>
    public bool StandardError { get; }

    /// <summary>The line's <see cref="Content"/>, as .NET 11's ProcessOutputLine prints (an empty string for a default instance).</summary>
    public override string ToString() => Content ?? string.Empty;
}
