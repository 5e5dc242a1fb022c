using System.Diagnostics.Metrics;

namespace Relay.Tunnel.Diagnostics;

/// <summary>
/// One pool's or listener's backhaul metrics, meter <see cref="TunnelMeter.Name"/>: links up, streams, frames and
/// bytes each way, link writes, link RTT, reconnects and re-attaches. The counts live here once; the
/// meter's observable instruments and <see cref="Snapshot"/> both read them, so <c>/metrics</c> and
/// <c>/status</c> cannot disagree. The hot path is an <see cref="Interlocked"/> add: no tags, no allocation.
/// </summary>
internal sealed class TunnelMetrics : IDisposable
{
    // RTT buckets in seconds: loopback and LAN (sub-millisecond) up to a sick WAN link.
    private static readonly double[] s_rttBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _rtt;
    private long _linksUp;
    private long _streams;
    private long _framesSent;
    private long _flushes;
    private long _framesReceived;
    private long _bytesSent;
    private long _bytesReceived;
    private long _reconnects;
    private long _reattaches;
    private long _copiesSent;
    private long _copyBytes;
    private long _copiesFirst;
    private long _openCopies;
    private long _opensFromCopy;

    /// <summary>
    /// Creates the instruments on a meter from <paramref name="meterFactory"/> (the host's, so each host
    /// exports its own backhaul), or on a meter of its own when there is none.
    /// </summary>
    /// <param name="meterFactory">The host's meter factory; null for a private meter, disposed with this.</param>
    /// <param name="linksUp">What the links-up gauge reports; defaults to links opened less links closed.</param>
    public TunnelMetrics(IMeterFactory? meterFactory, Func<long>? linksUp = null)
    {
        var options = new MeterOptions(TunnelMeter.Name) { Version = "1.0" };
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(options) ?? new Meter(options);
        linksUp ??= () => Volatile.Read(ref _linksUp);

        _meter.CreateObservableUpDownCounter("relay.backhaul.links_up", linksUp, description: "Backhaul links up.");
        _meter.CreateObservableUpDownCounter("relay.backhaul.streams", () => Volatile.Read(ref _streams), description: "Backhaul streams open.");
        _meter.CreateObservableCounter("relay.backhaul.frames_sent", () => Volatile.Read(ref _framesSent), description: "Backhaul frames written.");
        _meter.CreateObservableCounter("relay.backhaul.flushes", () => Volatile.Read(ref _flushes), description: "Backhaul link writes (frames sent / flushes is the batching).");
        _meter.CreateObservableCounter("relay.backhaul.frames_received", () => Volatile.Read(ref _framesReceived), description: "Backhaul frames read.");
        _meter.CreateObservableCounter("relay.backhaul.bytes_sent", () => Volatile.Read(ref _bytesSent), description: "Backhaul bytes written.");
        _meter.CreateObservableCounter("relay.backhaul.bytes_received", () => Volatile.Read(ref _bytesReceived), description: "Backhaul bytes read.");
        _meter.CreateObservableCounter("relay.backhaul.reconnects", () => Volatile.Read(ref _reconnects), description: "Backhaul link reconnect attempts.");
        _meter.CreateObservableCounter("relay.backhaul.copies_sent", () => Volatile.Read(ref _copiesSent), description: "Small DATA frames also sent on a second link (LinkOptions.DuplicateFramesUpTo, issue 22).");
        _meter.CreateObservableCounter("relay.backhaul.copy_bytes", () => Volatile.Read(ref _copyBytes), description: "Payload bytes of those copies.");
        _meter.CreateObservableCounter("relay.backhaul.copies_first", () => Volatile.Read(ref _copiesFirst), description: "DATA frames taken from a stream's second link (the copy arrived first).");
        _meter.CreateObservableCounter("relay.backhaul.open_copies", () => Volatile.Read(ref _openCopies), description: "OPEN_COPY frames sent (relay) or received (core): a new stream's OPEN also sent on a second link (issue 22).");
        _meter.CreateObservableCounter("relay.backhaul.opens_from_copy", () => Volatile.Read(ref _opensFromCopy), description: "Streams the core opened from their OPEN_COPY (it arrived before the OPEN).");
        _meter.CreateObservableCounter("relay.backhaul.reattaches", () => Volatile.Read(ref _reattaches), description: "Streams re-attached after link loss.");
        _rtt = _meter.CreateHistogram(
            "relay.backhaul.link.rtt",
            "s",
            "Link round-trip time from PING/PONG.",
            tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = s_rttBuckets });
    }

    /// <summary>A snapshot of the counters (for /status, health signals and benchmarks).</summary>
    public TunnelCounters Snapshot() => new(
        Volatile.Read(ref _linksUp), Volatile.Read(ref _streams), Volatile.Read(ref _framesSent), Volatile.Read(ref _framesReceived),
        Volatile.Read(ref _bytesSent), Volatile.Read(ref _bytesReceived), Volatile.Read(ref _reconnects), Volatile.Read(ref _reattaches))
    {
        Flushes = Volatile.Read(ref _flushes),
        CopiesSent = Volatile.Read(ref _copiesSent),
        CopyBytes = Volatile.Read(ref _copyBytes),
        CopiesFirst = Volatile.Read(ref _copiesFirst),
        OpenCopies = Volatile.Read(ref _openCopies),
        OpensFromCopy = Volatile.Read(ref _opensFromCopy),
    };

    internal void LinkOpened() => Interlocked.Increment(ref _linksUp);

    internal void LinkClosed() => Interlocked.Decrement(ref _linksUp);

    internal void StreamOpened() => Interlocked.Increment(ref _streams);

    internal void StreamClosed() => Interlocked.Decrement(ref _streams);

    internal void Reconnect() => Interlocked.Increment(ref _reconnects);

    internal void StreamReattached() => Interlocked.Increment(ref _reattaches);

    internal void CopySent(int bytes)
    {
        Interlocked.Increment(ref _copiesSent);
        Interlocked.Add(ref _copyBytes, bytes);
    }

    internal void CopyFirst() => Interlocked.Increment(ref _copiesFirst);

    internal void OpenCopy() => Interlocked.Increment(ref _openCopies);

    internal void OpenFromCopy() => Interlocked.Increment(ref _opensFromCopy);

    /// <summary>One flush of a link's writer: the frames and bytes it wrote.</summary>
    internal void Flushed(int frames, long bytes)
    {
        Interlocked.Increment(ref _flushes);
        Interlocked.Add(ref _framesSent, frames);
        Interlocked.Add(ref _bytesSent, bytes);
    }

    internal void FrameReceived(long bytes)
    {
        Interlocked.Increment(ref _framesReceived);
        Interlocked.Add(ref _bytesReceived, bytes);
    }

    internal void RoundTrip(TimeSpan rtt) => _rtt.Record(rtt.TotalSeconds);

    /// <summary>Disposes the meter when it is this instance's own (a factory's meters go with the factory).</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
