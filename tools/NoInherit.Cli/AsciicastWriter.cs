using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using NoInherit.Native;

/// <summary>The asciicast v2 file: the header line at once, then the events as they come, each line flushed, so that a
/// recording cut short (the recorder killed) is still a valid file up to its last event.</summary>
internal sealed class AsciicastWriter : IDisposable
{
    private static readonly JsonWriterOptions s_options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly Stream _file;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Decoder _utf8 = new UTF8Encoding(false).GetDecoder(); // keeps a character split across two reads
    private readonly object _lock = new();

    internal AsciicastWriter(Stream file, PseudoTerminalSize size, string command)
    {
        _file = file;
        WriteLine(json =>
        {
            json.WriteStartObject();
            json.WriteNumber("version", 2);
            json.WriteNumber("width", size.Columns);
            json.WriteNumber("height", size.Rows);
            json.WriteNumber("timestamp", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            json.WriteString("command", command);
            json.WriteStartObject("env");
            json.WriteString("SHELL", Environment.GetEnvironmentVariable("SHELL") ?? "");
            json.WriteString("TERM", Environment.GetEnvironmentVariable("TERM") ?? "");
            json.WriteEndObject();
            json.WriteEndObject();
        });
    }

    /// <summary>An "o" event with the text of <paramref name="bytes"/> (a partial UTF-8 character waits for the next).</summary>
    internal void Output(ReadOnlySpan<byte> bytes, bool flush = false)
    {
        var chars = new char[_utf8.GetCharCount(bytes, flush)];
        int count = _utf8.GetChars(bytes, chars, flush);
        if (count > 0)
            Event("o", new string(chars, 0, count));
    }

    internal void Resize(PseudoTerminalSize size) => Event("r", size.ToString());

    private void Event(string code, string data)
    {
        double seconds = Math.Round(_clock.Elapsed.TotalSeconds, 6);
        WriteLine(json =>
        {
            json.WriteStartArray();
            json.WriteNumberValue(seconds);
            json.WriteStringValue(code);
            json.WriteStringValue(data);
            json.WriteEndArray();
        });
    }

    private void WriteLine(Action<Utf8JsonWriter> write)
    {
        lock (_lock)
        {
            using (var json = new Utf8JsonWriter(_file, s_options))
                write(json);
            _file.WriteByte((byte)'\n');
            _file.Flush();
        }
    }

    public void Dispose() => _file.Flush();
}
