using System.Text.Json;

namespace Relay.Contracts.Sessions;

/// <summary>Writes the core → client messages (field <c>type</c> first). Read by <see cref="ServerFrame.Parse"/>.</summary>
public static class ServerFrames
{
    /// <summary>The answer to a hello.</summary>
    public static byte[] Welcome(string session, string resumeToken, long lastSeq, bool resumed) =>
        FrameJson.Write((session, resumeToken, lastSeq, resumed), static (Utf8JsonWriter w, in (string Session, string ResumeToken, long LastSeq, bool Resumed) s) =>
        {
            w.WriteString("type", FrameTypes.Welcome);
            w.WriteString("session", s.Session);
            w.WriteString("resumeToken", s.ResumeToken);
            w.WriteNumber("lastSeq", s.LastSeq);
            w.WriteBoolean("resumed", s.Resumed);
        });

    /// <summary>A numbered message; <paramref name="from"/> is the sender's <c>sub</c> for room messages;
    /// <paramref name="bodyJson"/> is raw JSON, written unvalidated.</summary>
    public static byte[] Message(long seq, long ack, string? room, string? from, string bodyJson) =>
        FrameJson.Write((seq, ack, room, from, bodyJson), static (Utf8JsonWriter w, in (long Seq, long Ack, string? Room, string? From, string BodyJson) s) =>
        {
            w.WriteString("type", FrameTypes.Message);
            w.WriteNumber("seq", s.Seq);
            w.WriteNumber("ack", s.Ack);
            if (s.Room is not null)
            {
                w.WriteString("room", s.Room);
            }

            if (s.From is not null)
            {
                w.WriteString("from", s.From);
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

    /// <summary>The answer to a ping: its id, or none when the ping had none.</summary>
    public static byte[] Pong(long? id) => FrameJson.Write(id, static (Utf8JsonWriter w, in long? i) =>
    {
        w.WriteString("type", FrameTypes.Pong);
        if (i is { } value)
        {
            w.WriteNumber("id", value);
        }
    });

    /// <summary>
    /// An error; the core closes the connection after it. <paramref name="seq"/>: the client's message it refuses, when
    /// one message is the cause (<c>room_forbidden</c>, <c>too_many_rooms</c>), so an SDK fails that message and does not
    /// send it again on the next session.
    /// </summary>
    public static byte[] Error(string code, string message, long? seq = null) =>
        FrameJson.Write((code, message, seq), static (Utf8JsonWriter w, in (string Code, string Message, long? Seq) s) =>
        {
            w.WriteString("type", FrameTypes.Error);
            w.WriteString("code", s.Code);
            w.WriteString("message", s.Message);
            if (s.Seq is { } refused)
            {
                w.WriteNumber("seq", refused);
            }
        });
}
