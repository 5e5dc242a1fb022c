using System.Buffers;
using System.Text.Json;

namespace Relay.Contracts.Sessions;

/// <summary>Shared JSON plumbing for the session frames: one reused writer per thread, typed field readers.</summary>
internal static class FrameJson
{
    /// <summary>A thread's buffer is dropped instead of kept when a frame grew it past this. 256 KiB.</summary>
    private const int MaxRetainedBytes = 256 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary>Writes one object (<paramref name="body"/> writes its fields, <c>type</c> first) and returns its UTF-8 bytes.</summary>
    public static byte[] Write<TState>(in TState state, WriteFields<TState> body)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(256);
        var w = t_writer ??= new Utf8JsonWriter(buffer);
        buffer.ResetWrittenCount();
        w.Reset(buffer);
        w.WriteStartObject();
        body(w, state);
        w.WriteEndObject();
        w.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > MaxRetainedBytes)
        {
            t_buffer = null;
            t_writer = null;
        }

        return bytes;
    }

    public static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static long? Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;

    /// <summary>Writes the fields of one frame.</summary>
    public delegate void WriteFields<TState>(Utf8JsonWriter writer, in TState state);
}
