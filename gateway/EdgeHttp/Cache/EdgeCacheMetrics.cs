using System.Diagnostics.Metrics;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// The edge cache's counts on the gateway's meter (<c>Relay.Gateway</c>), exported at <c>/metrics</c>
/// (<c>relay_gateway_edge_cache_requests_total{result}</c>, <c>relay_gateway_edge_cache_bytes_saved_total</c>, …) and
/// read by <c>/status</c> (<see cref="Describe"/>).
/// </summary>
internal sealed class EdgeCacheMetrics
{
    private static readonly KeyValuePair<string, object?> s_hit = new("result", "hit");
    private static readonly KeyValuePair<string, object?> s_miss = new("result", "miss");
    private static readonly KeyValuePair<string, object?> s_bypass = new("result", "bypass");
    private static readonly KeyValuePair<string, object?> s_stale = new("result", "stale");
    private readonly EdgeCacheStore _store;
    private long _hits, _misses, _bypasses, _stale, _bytesSaved, _purges, _purged;

    public EdgeCacheMetrics(IMeterFactory meterFactory, EdgeCacheStore store)
    {
        _store = store;
        var meter = meterFactory.Create(new MeterOptions(Metrics.GatewayMetrics.MeterName) { Version = "1.0" });
        meter.CreateObservableCounter<long>(
            "relay.gateway.edge_cache.requests",
            () => [new(Hits, s_hit), new(Misses, s_miss), new(Bypasses, s_bypass), new(Stale, s_stale)],
            description: "HTTP requests the edge cache took, by result (hit: served at the edge; miss: forwarded and stored when it may be; bypass: forwarded by rule; stale: origin failed, served stale).");
        meter.CreateObservableCounter("relay.gateway.edge_cache.bytes_saved", () => BytesSaved, description: "Response body bytes served at the edge instead of the origin (hits and stale).");
        meter.CreateObservableCounter("relay.gateway.edge_cache.purged", () => Interlocked.Read(ref _purged), description: "Entries removed by purges (admin API and the core's order).");
        meter.CreateObservableUpDownCounter("relay.gateway.edge_cache.entries", () => (long)_store.Count, description: "Responses stored at the edge.");
        meter.CreateObservableUpDownCounter("relay.gateway.edge_cache.size_bytes", () => _store.Size, description: "Bytes the stored responses take (bounded by SizeLimitBytes).");
    }

    public long Hits => Interlocked.Read(ref _hits);

    public long Misses => Interlocked.Read(ref _misses);

    public long Bypasses => Interlocked.Read(ref _bypasses);

    public long Stale => Interlocked.Read(ref _stale);

    public long BytesSaved => Interlocked.Read(ref _bytesSaved);

    public void Record(EdgeCacheResult result, long bytesSaved)
    {
        switch (result)
        {
            case EdgeCacheResult.Hit:
                Interlocked.Increment(ref _hits);
                break;
            case EdgeCacheResult.Miss:
                Interlocked.Increment(ref _misses);
                break;
            case EdgeCacheResult.Stale:
                Interlocked.Increment(ref _stale);
                break;
            default:
                Interlocked.Increment(ref _bypasses);
                break;
        }

        if (bytesSaved > 0)
        {
            Interlocked.Add(ref _bytesSaved, bytesSaved);
        }
    }

    public void Purged(int entries)
    {
        Interlocked.Increment(ref _purges);
        Interlocked.Add(ref _purged, entries);
    }

    /// <summary>The <c>edgeCache</c> section of <c>/status</c>.</summary>
    public object Describe() => new
    {
        hits = Hits,
        misses = Misses,
        bypasses = Bypasses,
        stale = Stale,
        bytesSaved = BytesSaved,
        entries = _store.Count,
        sizeBytes = _store.Size,
        sizeLimitBytes = _store.SizeLimit,
        evictions = _store.Evictions,
        purges = Interlocked.Read(ref _purges),
        purged = Interlocked.Read(ref _purged),
    };
}
