using System.Text.Json;

namespace Relay.Contracts.Sessions;

/// <summary>What a client sent in one session-protocol message (written by <see cref="ClientFrames"/>).</summary>
public sealed class ClientFrame
{
    /// <summary>The <c>type</c> field (<see cref="FrameTypes"/>).</summary>
    public string Type { get; private init; } = string.Empty;

    /// <summary>msg: the client's seq.</summary>
    public long? Seq { get; private init; }

    /// <summary>msg, ack: the highest core seq the client holds.</summary>
    public long? Ack { get; private init; }

    /// <summary>ping: the id to echo in the pong, or null when absent.</summary>
    public long? Id { get; private init; }

    /// <summary>ping: true when an <c>id</c> field is present but not an integer (refused as malformed).</summary>
    public bool BadId { get; private init; }

    /// <summary>msg: the room, or null for an echo.</summary>
    public string? Room { get; private init; }

    /// <summary>msg: the body as raw JSON, or null when absent.</summary>
    public string? BodyJson { get; private init; }

    /// <summary>hello: the session to resume, or null for a new one.</summary>
    public string? ResumeSession { get; private init; }

    /// <summary>hello: the resume token.</summary>
    public string? ResumeToken { get; private init; }

    /// <summary>hello: the last core seq the client received (0 when absent).</summary>
    public long ResumeLastSeq { get; private init; }

    /// <summary>hello: rooms to join (non-empty strings only).</summary>
    public IReadOnlyList<string> Rooms { get; private init; } = [];

    /// <summary>Parses one message; null when it is not a JSON object with a string <c>type</c>.</summary>
    public static ClientFrame? Parse(ReadOnlyMemory<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            string? session = null, token = null;
            long lastSeq = 0;
            if (root.TryGetProperty("resume", out var resume) && resume.ValueKind == JsonValueKind.Object)
            {
                session = FrameJson.Str(resume, "session");
                token = FrameJson.Str(resume, "resumeToken");
                lastSeq = FrameJson.Num(resume, "lastSeq") ?? 0;
            }

            IReadOnlyList<string> rooms = [];
            if (root.TryGetProperty("rooms", out var r) && r.ValueKind == JsonValueKind.Array)
            {
                var list = new List<string>();
                foreach (var item in r.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 } name)
                    {
                        list.Add(name);
                    }
                }

                rooms = list;
            }

            return new ClientFrame
            {
                Type = type.GetString()!,
                Seq = FrameJson.Num(root, "seq"),
                Id = FrameJson.Num(root, "id"),
                BadId = root.TryGetProperty("id", out var id) && FrameJson.Num(root, "id") is null && id.ValueKind != JsonValueKind.Null,
                Ack = FrameJson.Num(root, "ack"),
                Room = FrameJson.Str(root, "room"),
                BodyJson = root.TryGetProperty("body", out var body) ? body.GetRawText() : null,
                ResumeSession = session,
                ResumeToken = token,
                ResumeLastSeq = lastSeq,
                Rooms = rooms,
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null; // not JSON, or a string that is no text (a lone surrogate escape: GetString throws)
        }
    }
}
