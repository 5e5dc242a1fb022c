using System.Buffers;
using System.Text.Json;

namespace Relay.CoreSim.Sessions;

/// <summary>Writes the core → client messages (field <c>type</c> first).</summary>
internal static class ServerFrames
{
    public static byte[] Welcome(string session, string resumeToken, long lastSeq, bool resumed) => Write(w =>
    {
        w.WriteString("type", "welcome");
        w.WriteString("session", session);
        w.WriteString("resumeToken", resumeToken);
        w.WriteNumber("lastSeq", lastSeq);
        w.WriteBoolean("resumed", resumed);
    });

    public static byte[] Message(OutboundMessage m, long ack) => Write(w =>
    {
        w.WriteString("type", "msg");
        w.WriteNumber("seq", m.Seq);
        w.WriteNumber("ack", ack);
        if (m.Room is not null)
        {
            w.WriteString("room", m.Room);
        }

        if (m.From is not null)
        {
            w.WriteString("from", m.From);
        }

        w.WritePropertyName("body");
        w.WriteRawValue(m.BodyJson, skipInputValidation: true);
    });

    public static byte[] Ack(long ack) => Write(w =>
    {
        w.WriteString("type", "ack");
        w.WriteNumber("ack", ack);
    });

    public static byte[] Error(string code, string message) => Write(w =>
    {
        w.WriteString("type", "error");
        w.WriteString("code", code);
        w.WriteString("message", message);
    });

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
