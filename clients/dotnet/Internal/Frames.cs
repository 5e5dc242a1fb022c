using System.Buffers;
using System.Text.Json;

namespace Relay.Client.Internal;

/// <summary>Writes client → core messages and reads core → client ones.</summary>
internal static class Frames
{
    public static byte[] Hello(string? session, string? resumeToken, long lastSeq, IReadOnlyList<string> rooms) => Write(w =>
    {
        w.WriteString("type", "hello");
        if (session is not null)
        {
            w.WriteStartObject("resume");
            w.WriteString("session", session);
            w.WriteString("resumeToken", resumeToken);
            w.WriteNumber("lastSeq", lastSeq);
            w.WriteEndObject();
        }

        if (rooms.Count > 0)
        {
            w.WriteStartArray("rooms");
            foreach (var room in rooms)
            {
                w.WriteStringValue(room);
            }

            w.WriteEndArray();
        }
    });

    public static byte[] Message(PendingMessage m, long ack) => Write(w =>
    {
        w.WriteString("type", "msg");
        w.WriteNumber("seq", m.Seq);
        w.WriteNumber("ack", ack);
        if (m.Room is not null)
        {
            w.WriteString("room", m.Room);
        }

        w.WritePropertyName("body");
        w.WriteRawValue(m.BodyJson, skipInputValidation: true);
    });

    public static byte[] Ack(long ack) => Write(w =>
    {
        w.WriteString("type", "ack");
        w.WriteNumber("ack", ack);
    });

    public static string StringBody(string body) => JsonSerializer.Serialize(body);

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
