using System.Buffers;

namespace Relay.Tunnel.Protocol;

/// <summary>
/// One decoded frame. The hot kinds (data, ack, ping, pong) decode into the value fields with no
/// allocation; <see cref="Payload"/> is a slice of the input buffer and is valid only until the
/// reader advances. Rare kinds carry their details in <see cref="Body"/>.
/// </summary>
internal readonly struct Frame
{
    /// <summary>Creates a frame.</summary>
    public Frame(FrameKind kind, ulong streamId = 0, ulong seq = 0, ulong value = 0, DataFlags flags = 0, int code = 0,
        ReadOnlySequence<byte> payload = default, object? body = null)
    {
        Kind = kind;
        StreamId = streamId;
        Seq = seq;
        Value = value;
        Flags = flags;
        Code = code;
        Payload = payload;
        Body = body;
    }

    /// <summary>The frame kind.</summary>
    public FrameKind Kind { get; }

    /// <summary>Stream id for stream frames.</summary>
    public ulong StreamId { get; }

    /// <summary>Data/Close: the item's sequence number. Ack/Attach/Attached: the last sequence received.</summary>
    public ulong Seq { get; }

    /// <summary>Ack/Attach/Attached: the credit limit (absolute byte offset). Ping/Pong: the timestamp.</summary>
    public ulong Value { get; }

    /// <summary>Data: text/binary and end of message.</summary>
    public DataFlags Flags { get; }

    /// <summary>Close/Refuse: the close code.</summary>
    public int Code { get; }

    /// <summary>Data/HealthReport/Command: the payload bytes (a slice of the read buffer).</summary>
    public ReadOnlySequence<byte> Payload { get; }

    /// <summary>Hello/Challenge: <see cref="HelloInfo"/>; Open: <see cref="OpenInfo"/>; Proof, Ready: byte[];
    /// Close/Refuse/GoAway: the reason string; Command: the command name.</summary>
    public object? Body { get; }

    /// <summary>The reason of a Close, Refuse or GoAway frame.</summary>
    public string Reason => Body as string ?? string.Empty;

    /// <inheritdoc />
    public override string ToString() => $"{Kind} stream={StreamId} seq={Seq} value={Value} flags={Flags} code={Code} payload={Payload.Length}";
}
