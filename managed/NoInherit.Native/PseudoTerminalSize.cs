using System;

namespace NoInherit.Native;

/// <summary>
/// The size of a pseudo-terminal in character cells, as a child reads it (<c>stty size</c>, TIOCGWINSZ,
/// <c>Console.WindowWidth</c>): <see cref="ChildProcessOptions.PseudoTerminal"/> and <see cref="ChildProcess.ResizeTerminal"/>.
/// </summary>
public readonly record struct PseudoTerminalSize
{
    /// <summary>The largest number of columns or rows: Windows' limit (a console size is a pair of 16-bit signed
    /// numbers), taken on every system so that a size valid on one is valid on all.</summary>
    public const int MaxValue = short.MaxValue;

    /// <summary>A size of <paramref name="columns"/> x <paramref name="rows"/> character cells.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="columns"/> or <paramref name="rows"/> is below 1 or
    /// above <see cref="MaxValue"/>.</exception>
    public PseudoTerminalSize(int columns, int rows)
    {
        Check(columns, nameof(columns));
        Check(rows, nameof(rows));
        Columns = columns;
        Rows = rows;
    }

    /// <summary>The width, in characters.</summary>
    public int Columns { get; }

    /// <summary>The height, in lines.</summary>
    public int Rows { get; }

    /// <summary>Whether the size is one a terminal can have; <c>default(PseudoTerminalSize)</c> (0 x 0) is not.</summary>
    internal bool IsValid => Columns >= 1 && Rows >= 1;

    /// <summary>"80x24".</summary>
    public override string ToString() => $"{Columns}x{Rows}";

    internal static void Check(int value, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, paramName);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxValue, paramName);
    }
}
