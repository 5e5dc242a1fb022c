namespace Relay.Client.Internal;

/// <summary>An outbound message kept until the core acknowledges it.</summary>
internal sealed class PendingMessage(long seq, string? room, string bodyJson)
{
    public long Seq { get; set; } = seq;

    public string? Room => room;

    public string BodyJson => bodyJson;
}
