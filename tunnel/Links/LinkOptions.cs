namespace Relay.Tunnel.Links;

/// <summary>Options shared by both ends of a backhaul link.</summary>
public sealed class LinkOptions
{
    /// <summary>Protocol version spoken: 2 (the relay proves its key first; see tunnel/Protocol/README.md).</summary>
    public const int ProtocolVersion = 2;

    /// <summary>
    /// The key proved at hello (HMAC-SHA256): the relay's own key on the dialing side; on the core, the key of every
    /// relay unless <see cref="Server.LinkListenerOptions.KeyForRelay"/> gives one per relay. At least 16 bytes
    /// (the hosts ask 32 random bytes outside Development: <see cref="LinkKey"/>).
    /// </summary>
    public byte[] SharedKey { get; set; } = [];

    /// <summary>Largest frame body accepted. Defaults to 256 KiB.</summary>
    public int MaxFrameSize { get; set; } = 256 * 1024;

    /// <summary>Per-stream receive window (flow-control credit) in bytes. Defaults to 256 KiB.</summary>
    public int StreamWindow { get; set; } = 256 * 1024;

    /// <summary>Largest stream message. Must fit the window. Defaults to 128 KiB.</summary>
    public int MaxMessageSize { get; set; } = 128 * 1024;

    /// <summary>Largest data chunk per frame. Defaults to 16 KiB.</summary>
    public int MaxChunkSize { get; set; } = 16 * 1024;

    /// <summary>Interval between pings on a link. Defaults to 5 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A link that receives nothing for this long is dead. Defaults to 15 s.</summary>
    public TimeSpan DeadLinkTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Time allowed for the hello and key challenge. Defaults to 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stream whose link died is kept for re-attachment. Defaults to 30 s.</summary>
    public TimeSpan DetachedStreamGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Issue 22, tails under loss: a DATA frame of at most this many payload bytes is also sent on a second link to the
    /// same peer, and the receiver takes whichever copy arrives first (the stream numbers its frames and drops what it
    /// holds). One lost packet then stalls one TCP link, not the message. Costs the copies' bytes on the backhaul.
    /// A peer that predates it ignores the copies (frames for a stream on another link are dropped). Defaults to 0 (off).
    /// </summary>
    public int DuplicateFramesUpTo { get; set; }

    /// <summary>
    /// Issue 21: copies (<see cref="DuplicateFramesUpTo"/>) are made only on a far or lossy link, within the last
    /// <see cref="FarLinkHold"/>: on Linux, the kernel's smallest round trip of the TCP path at least this long (TCP_INFO); elsewhere, the smallest of the last three heartbeat round trips at least this long, or a
    /// ping unanswered for 200 ms, and before the link's first round trip (see <c>TcpPath</c>). On loopback or a LAN the copies
    /// would double the backhaul's frames (and its CPU) for nothing. Defaults to 20 ms; zero copies on every link.
    /// </summary>
    public TimeSpan DuplicateAboveRtt { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How long one slow round trip (or a ping unanswered past <see cref="DuplicateAboveRtt"/>) keeps a link far. Defaults to 60 s.</summary>
    public TimeSpan FarLinkHold { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Bytes written before a flush inside one batch. Defaults to 64 KiB.</summary>
    public int FlushThreshold { get; set; } = 64 * 1024;

    /// <summary>The clock of every timeout, heartbeat, grace period and round-trip measurement. Defaults to <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting.</summary>
    public void Validate() => Validate(requireKey: true);

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad setting; the key only when <paramref name="requireKey"/>.</summary>
    internal void Validate(bool requireKey)
    {
        if (requireKey && (SharedKey is null || SharedKey.Length < 16))
        {
            throw new ArgumentException("SharedKey: the backhaul link key must be at least 16 bytes.");
        }

        if (MaxChunkSize < 256 || MaxChunkSize > MaxFrameSize - 64)
        {
            throw new ArgumentException($"MaxChunkSize: must be between 256 and MaxFrameSize - 64 ({MaxFrameSize - 64}); was {MaxChunkSize}.");
        }

        if (MaxMessageSize < 1 || MaxMessageSize > StreamWindow)
        {
            throw new ArgumentException($"MaxMessageSize: must be between 1 and StreamWindow ({StreamWindow}); was {MaxMessageSize}.");
        }

        if (StreamWindow < MaxChunkSize)
        {
            throw new ArgumentException($"StreamWindow: must be at least MaxChunkSize ({MaxChunkSize}); was {StreamWindow}.");
        }

        if (HeartbeatInterval <= TimeSpan.Zero || DeadLinkTimeout <= HeartbeatInterval)
        {
            throw new ArgumentException("DeadLinkTimeout: must be longer than HeartbeatInterval, and both positive.");
        }

        if (DuplicateFramesUpTo < 0 || DuplicateFramesUpTo > MaxChunkSize)
        {
            throw new ArgumentException($"DuplicateFramesUpTo: must be between 0 (off) and MaxChunkSize ({MaxChunkSize}); was {DuplicateFramesUpTo}.");
        }

        if (DuplicateAboveRtt < TimeSpan.Zero || DuplicateAboveRtt > TimeSpan.FromSeconds(10) || FarLinkHold < TimeSpan.Zero)
        {
            throw new ArgumentException($"DuplicateAboveRtt: must be between 0 (always) and 10 s, and FarLinkHold not negative; were {DuplicateAboveRtt} and {FarLinkHold}.");
        }

        if (DetachedStreamGrace < TimeSpan.Zero)
        {
            throw new ArgumentException("DetachedStreamGrace: must not be negative.");
        }
    }
}
