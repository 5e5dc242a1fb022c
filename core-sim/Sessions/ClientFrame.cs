using System.Text.Json;

namespace Relay.CoreSim.Sessions;

/// <summary>What a client sent in one session-protocol message.</summary>
internal sealed class ClientFrame
{
    public string Type { get; private init; } = string.Empty;

    public long? Seq { get; private init; }

    public long? Ack { get; private init; }

    public string? Room { get; private init; }

    public string? BodyJson { get; private init; }

    public string? ResumeSession { get; private init; }

    public string? ResumeToken { get; private init; }

    public long ResumeLastSeq { get; private init; }

    public IReadOnlyList<string> Rooms { get; private init; } = [];

    /// <summary>Parses one message; null when it is not a JSON object with a string <c>type</c>.</summary>
    public static ClientFrame? Parse(byte[] utf8)
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
                session = Str(resume, "session");
                token = Str(resume, "resumeToken");
                lastSeq = Num(resume, "lastSeq") ?? 0;
            }

            var rooms = new List<string>();
            if (root.TryGetProperty("rooms", out var r) && r.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in r.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.String && item.GetString() is { Length: > 0 } name)
                    {
                        rooms.Add(name);
                    }
                }
            }

            return new ClientFrame
            {
                Type = type.GetString()!,
                Seq = Num(root, "seq"),
                Ack = Num(root, "ack"),
                Room = Str(root, "room"),
                BodyJson = root.TryGetProperty("body", out var body) ? body.GetRawText() : null,
                ResumeSession = session,
                ResumeToken = token,
                ResumeLastSeq = lastSeq,
                Rooms = rooms,
            };
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Str(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Num(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) ? n : null;
}
