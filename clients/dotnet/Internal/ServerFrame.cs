using System.Text.Json;

namespace Relay.Client.Internal;

/// <summary>One core → client message.</summary>
internal sealed class ServerFrame
{
    public string Type { get; private init; } = string.Empty;
    public long? Seq { get; private init; }
    public long? Ack { get; private init; }
    public long LastSeq { get; private init; }
    public string? Room { get; private init; }
    public string? From { get; private init; }
    public string? Body { get; private init; }
    public string? Session { get; private init; }
    public string? ResumeToken { get; private init; }
    public bool Resumed { get; private init; }
    public string? Code { get; private init; }
    public string? Message { get; private init; }

    public static ServerFrame? Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            using var doc = JsonDocument.ParseValue(ref reader);
            var r = doc.RootElement;
            if (r.ValueKind != JsonValueKind.Object || Str(r, "type") is not { } type)
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
                Seq = Num(r, "seq"),
                Ack = Num(r, "ack"),
                LastSeq = Num(r, "lastSeq") ?? 0,
                Room = Str(r, "room"),
                From = Str(r, "from"),
                Body = body,
                Session = Str(r, "session"),
                ResumeToken = Str(r, "resumeToken"),
                Resumed = r.TryGetProperty("resumed", out var res) && res.ValueKind == JsonValueKind.True,
                Code = Str(r, "code"),
                Message = Str(r, "message"),
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
