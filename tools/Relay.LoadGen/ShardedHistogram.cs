using HdrHistogram;

namespace Relay.LoadGen;

/// <summary>A latency histogram that many threads record into without meeting: one <see cref="LongHistogram"/> per
/// recording thread (each behind its own, uncontended lock), merged when read. One shared histogram behind one lock
/// was the load generator's hottest lock at 20,000 messages/s.</summary>
internal sealed class ShardedHistogram(long highestTrackableValue, int significantDigits)
{
    private readonly ThreadLocal<LongHistogram> _shards = new(() => new LongHistogram(highestTrackableValue, significantDigits), trackAllValues: true);

    public void Record(long value)
    {
        var shard = _shards.Value!;
        lock (shard)
        {
            shard.RecordValue(Math.Clamp(value, 0, highestTrackableValue));
        }
    }

    /// <summary>Every value recorded so far, on any thread, in one histogram (a copy).</summary>
    public LongHistogram Merge()
    {
        var all = new LongHistogram(highestTrackableValue, significantDigits);
        foreach (var shard in _shards.Values)
        {
            lock (shard)
            {
                all.Add(shard);
            }
        }

        return all;
    }

    /// <summary>Every value recorded since the last call, in one histogram; the shards start again empty.</summary>
    public LongHistogram MergeAndReset()
    {
        var all = new LongHistogram(highestTrackableValue, significantDigits);
        foreach (var shard in _shards.Values)
        {
            lock (shard)
            {
                all.Add(shard);
                shard.Reset();
            }
        }

        return all;
    }
}
