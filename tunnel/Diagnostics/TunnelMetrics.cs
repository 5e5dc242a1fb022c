using System.Diagnostics.Metrics;

namespace Relay.Tunnel.Diagnostics;

/// <summary>
/// Backhaul metrics through System.Diagnostics.Metrics, meter <c>Relay.Tunnel</c>: links up,
/// streams, frames and bytes each way, link RTT, reconnects and re-attaches.
/// </summary>
public static class TunnelMetrics
{
    /// <summary>The meter name to listen to.</summary>
    public const string MeterName = "Relay.Tunnel";

    private static readonly Meter s_meter = new(MeterName, "1.0");
    private static long s_linksUp;
    private static long s_streams;
    private static long s_framesSent;
    private static long s_flushes;
    private static long s_framesReceived;
    private static long s_bytesSent;
    private static long s_bytesReceived;
    private static long s_reconnects;
    private static long s_reattaches;

    private static readonly Histogram<double> s_rtt = s_meter.CreateHistogram<double>("relay.tunnel.link.rtt", "ms", "Link round-trip time from PING/PONG");

    static TunnelMetrics()
    {
        s_meter.CreateObservableUpDownCounter("relay.tunnel.links.up", () => Volatile.Read(ref s_linksUp), description: "Backhaul links up");
        s_meter.CreateObservableUpDownCounter("relay.tunnel.streams", () => Volatile.Read(ref s_streams), description: "Streams open");
        s_meter.CreateObservableCounter("relay.tunnel.frames.sent", () => Volatile.Read(ref s_framesSent), description: "Frames written");
        s_meter.CreateObservableCounter("relay.tunnel.flushes", () => Volatile.Read(ref s_flushes), description: "Socket writes to links (frames sent / flushes is the batching)");
        s_meter.CreateObservableCounter("relay.tunnel.frames.received", () => Volatile.Read(ref s_framesReceived), description: "Frames read");
        s_meter.CreateObservableCounter("relay.tunnel.bytes.sent", () => Volatile.Read(ref s_bytesSent), "By", "Bytes written to links");
        s_meter.CreateObservableCounter("relay.tunnel.bytes.received", () => Volatile.Read(ref s_bytesReceived), "By", "Bytes read from links");
        s_meter.CreateObservableCounter("relay.tunnel.reconnects", () => Volatile.Read(ref s_reconnects), description: "Link reconnect attempts");
        s_meter.CreateObservableCounter("relay.tunnel.reattaches", () => Volatile.Read(ref s_reattaches), description: "Streams re-attached on another link");
    }

    /// <summary>A snapshot of the counters (for /status and tests).</summary>
    public static TunnelCounters Snapshot() => new(
        Volatile.Read(ref s_linksUp), Volatile.Read(ref s_streams), Volatile.Read(ref s_framesSent), Volatile.Read(ref s_framesReceived),
        Volatile.Read(ref s_bytesSent), Volatile.Read(ref s_bytesReceived), Volatile.Read(ref s_reconnects), Volatile.Read(ref s_reattaches))
    {
        Flushes = Volatile.Read(ref s_flushes),
    };

    internal static void LinkOpened() => Interlocked.Increment(ref s_linksUp);

    internal static void LinkClosed() => Interlocked.Decrement(ref s_linksUp);

    internal static void StreamOpened() => Interlocked.Increment(ref s_streams);

    internal static void StreamClosed() => Interlocked.Decrement(ref s_streams);

    internal static void Reconnect() => Interlocked.Increment(ref s_reconnects);

    internal static void StreamReattached() => Interlocked.Increment(ref s_reattaches);

    /// <summary>One flush of a link's writer: the frames and bytes it wrote.</summary>
    internal static void Flushed(int frames, long bytes)
    {
        Interlocked.Increment(ref s_flushes);
        Interlocked.Add(ref s_framesSent, frames);
        Interlocked.Add(ref s_bytesSent, bytes);
    }

    internal static void FrameReceived(long bytes)
    {
        Interlocked.Increment(ref s_framesReceived);
        Interlocked.Add(ref s_bytesReceived, bytes);
    }

    internal static void RoundTrip(TimeSpan rtt) => s_rtt.Record(rtt.TotalMilliseconds);
}

/// <summary>Backhaul counters at one moment (process-wide).</summary>
public readonly record struct TunnelCounters(long LinksUp, long Streams, long FramesSent, long FramesReceived, long BytesSent, long BytesReceived, long Reconnects, long Reattaches)
{
    /// <summary>Link writer flushes (each one socket write); <see cref="FramesSent"/> / Flushes is the batching.</summary>
    public long Flushes { get; init; }
}
