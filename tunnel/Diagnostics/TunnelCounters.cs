namespace Relay.Tunnel.Diagnostics;

/// <summary>One pool's or listener's backhaul counters at one moment.</summary>
public readonly record struct TunnelCounters(long LinksUp, long Streams, long FramesSent, long FramesReceived, long BytesSent, long BytesReceived, long Reconnects, long Reattaches)
{
    /// <summary>Link writer flushes (each one socket write); <see cref="FramesSent"/> / Flushes is the batching.</summary>
    public long Flushes { get; init; }

    /// <summary>Small DATA frames also sent on a second link (issue 22's dual send).</summary>
    public long CopiesSent { get; init; }

    /// <summary>Payload bytes of those copies.</summary>
    public long CopyBytes { get; init; }

    /// <summary>DATA frames the receiver took from a stream's second link, because the copy arrived first.</summary>
    public long CopiesFirst { get; init; }

    /// <summary>OPEN_COPY frames sent (relay) or received (core): a new stream's OPEN also on a second link (issue 22).</summary>
    public long OpenCopies { get; init; }

    /// <summary>Core: streams opened from their OPEN_COPY, because it arrived before the OPEN (issue 22).</summary>
    public long OpensFromCopy { get; init; }
}
