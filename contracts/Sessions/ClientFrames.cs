using System.Text.Json;

namespace Relay.Contracts.Sessions;

/// <summary>Writes the client → core messages (field <c>type</c> first). Read by <see cref="ClientFrame.Parse"/>.</summary>
public static class ClientFrames
{
    /// <summary>The hello; <paramref name="session"/> non-null asks to resume it.</summary>
    public static byte[] Hello(string? session, string? resumeToken, long lastSeq, IReadOnlyList<string> rooms) =>
        FrameJson.Write((session, resumeToken, lastSeq, rooms), static (Utf8JsonWriter w, in (string? Session, string? ResumeToken, long LastSeq, IReadOnlyList<string> Rooms) s) =>
        {
            w.WriteString("type", FrameTypes.Hello);
            if (s.Session is not null)
            {
                w.WriteStartObject("resume");
                w.WriteString("session", s.Session);
                w.WriteString("resumeToken", s.ResumeToken);
                w.WriteNumber("lastSeq", s.LastSeq);
                w.WriteEndObject();
            }

            if (s.Rooms.Count > 0)
            {
                w.WriteStartArray("rooms");
                foreach (var room in s.Rooms)
                {
                    w.WriteStringValue(room);
                }

                w.WriteEndArray();
            }
        });

    /// <summary>A numbered message; <paramref name="bodyJson"/> is raw JSON, written unvalidated.</summary>
    public static byte[] Message(long seq, long ack, string? room, string bodyJson) =>
        FrameJson.Write((seq, ack, room, bodyJson), static (Utf8JsonWriter w, in (long Seq, long Ack, string? Room, string BodyJson) s) =>
        {
            w.WriteString("type", FrameTypes.Message);
            w.WriteNumber("seq", s.Seq);
            w.WriteNumber("ack", s.Ack);
            if (s.Room is not null)
            {
                w.WriteString("room", s.Room);
            }

            w.WritePropertyName("body");
            w.WriteRawValue(s.BodyJson, skipInputValidation: true);
        });

    /// <summary>An acknowledgement with no message.</summary>
    public static byte[] Ack(long ack) => FrameJson.Write(ack, static (Utf8JsonWriter w, in long a) =>
    {
        w.WriteString("type", FrameTypes.Ack);
        w.WriteNumber("ack", a);
    });

    /// <summary>A liveness probe; the core answers <c>pong</c> with the same id.</summary>
    public static byte[] Ping(long id) => FrameJson.Write(id, static (Utf8JsonWriter w, in long i) =>
    {
        w.WriteString("type", FrameTypes.Ping);
        w.WriteNumber("id", i);
    });

    /// <summary>A text body as a JSON string.</summary>
    public static string StringBody(string body) => JsonSerializer.Serialize(body);
}
