namespace Relay.Tunnel.Links;

/// <summary>One frame waiting in a link's write queue. Data payloads point into the stream's retained buffers.</summary>
internal readonly struct Outgoing(FrameKind kind, ulong streamId = 0, ulong seq = 0, ulong value = 0,
    DataFlags flags = 0, int code = 0, object? body = null, ReadOnlyMemory<byte> payload = default)
{
    public FrameKind Kind { get; } = kind;
    public ulong StreamId { get; } = streamId;
    public ulong Seq { get; } = seq;
    public ulong Value { get; } = value;
    public DataFlags Flags { get; } = flags;
    public int Code { get; } = code;
    public object? Body { get; } = body;
    public ReadOnlyMemory<byte> Payload { get; } = payload;
}
