namespace Relay.Tunnel.Diagnostics;

/// <summary>One pool's or listener's backhaul counters at one moment.</summary>
public readonly record struct TunnelCounters(long LinksUp, long Streams, long FramesSent, long FramesReceived, long BytesSent, long BytesReceived, long Reconnects, long Reattaches)
{
    /// <summary>Link writer flushes (each one socket write); <see cref="FramesSent"/> / Flushes is the batching.</summary>
    public long Flushes { get; init; }
}
