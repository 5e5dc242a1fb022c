using System.Text.Json;

namespace Relay.Contracts.Sessions;

/// <summary>One core → client message (written by <see cref="ServerFrames"/>).</summary>
public sealed class ServerFrame
{
    /// <summary>The <c>type</c> field (<see cref="FrameTypes"/>).</summary>
    public string Type { get; private init; } = string.Empty;

    /// <summary>msg: the core's seq.</summary>
    public long? Seq { get; private init; }

    /// <summary>msg, ack: the highest client seq the core holds.</summary>
    public long? Ack { get; private init; }

    /// <summary>welcome: the last client seq the core holds (0 when absent).</summary>
    public long LastSeq { get; private init; }

    /// <summary>msg: the room, or null for an echo.</summary>
    public string? Room { get; private init; }

    /// <summary>msg: the sender's <c>sub</c> (room messages).</summary>
    public string? From { get; private init; }

    /// <summary>msg: the body; a JSON string decoded, any other JSON value as raw text.</summary>
    public string? Body { get; private init; }

    /// <summary>welcome: the session id.</summary>
    public string? Session { get; private init; }

    /// <summary>welcome: the token for a later resume.</summary>
    public string? ResumeToken { get; private init; }

    /// <summary>welcome: true when an existing session was resumed.</summary>
    public bool Resumed { get; private init; }

    /// <summary>pong: the id of the ping it answers.</summary>
    public long? Id { get; private init; }

    /// <summary>error: the code (e.g. <c>session_unknown</c>).</summary>
    public string? Code { get; private init; }

    /// <summary>error: the text.</summary>
    public string? Message { get; private init; }

    /// <summary>Parses one message; null when it is not a JSON object with a string <c>type</c>.</summary>
    public static ServerFrame? Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var doc = JsonDocument.ParseValue(ref reader);
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || FrameJson.Str(r, "type") is not { } type)
            {
                return null;
            }

            string? body = null;
            if (r.TryGetProperty("body", out var b))
            {
                body = b.ValueKind == JsonValueKind.String ? b.GetString() : b.GetRawText();
            }

            return new ServerFrame
            {
                Type = type,
                Seq = FrameJson.Num(r, "seq"),
                Id = FrameJson.Num(r, "id"),
                Ack = FrameJson.Num(r, "ack"),
                LastSeq = FrameJson.Num(r, "lastSeq") ?? 0,
                Room = FrameJson.Str(r, "room"),
                From = FrameJson.Str(r, "from"),
                Body = body,
                Session = FrameJson.Str(r, "session"),
                ResumeToken = FrameJson.Str(r, "resumeToken"),
                Resumed = r.TryGetProperty("resumed", out var res) && res.ValueKind == JsonValueKind.True,
                Code = FrameJson.Str(r, "code"),
                Message = FrameJson.Str(r, "message"),
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null; // not JSON, or a string that is no text (a lone surrogate escape: GetString throws)
        }
    }
}
