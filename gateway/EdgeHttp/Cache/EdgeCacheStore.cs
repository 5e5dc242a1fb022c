using System.Globalization;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Options;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// Output caching's store for the edge cache: in memory, bounded by <see cref="EdgeCacheOptions.SizeLimitBytes"/>
/// (least recently used out first), with freshness read from the host's <see cref="TimeProvider"/>.
/// </summary>
/// <remarks>
/// <para>Why not output caching's own memory store: its entries expire on the system clock at their TTL, and then they are
/// gone. Stale-if-error needs them after the TTL, and tests need the TTL on a fake clock. So this store keeps an entry
/// for its TTL plus its stale window (the rule's, carried in as an internal <c>relay:stale=</c> tag) and decides
/// freshness itself: <see cref="GetAsync"/> returns an entry only while fresh, so output caching forwards a stale one to
/// the origin as a miss; only the stale-if-error pass (<see cref="StaleRead.AllowStale"/>) gets an entry within its
/// stale window. An entry past its stale window is dropped when next touched, or evicted for room.</para>
/// <para>Output caching's lookups of one key are coalesced: a lookup and a stale-if-error lookup of the same key at the
/// same moment may share one answer. Then a request is served the stale entry (during an origin failure) or the
/// stale-if-error pass finds nothing and returns the origin's error; both are answers the request could have had.</para>
/// </remarks>
internal sealed class EdgeCacheStore : IOutputCacheStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Entry>> _byTag = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _recent = new(); // most recently used first
    private readonly TimeProvider _time;
    private long _size;

    public EdgeCacheStore(IOptions<EdgeCacheOptions> options, TimeProvider time)
    {
        SizeLimit = options.Value.SizeLimitBytes;
        _time = time;
    }

    /// <summary>Bytes the entries may take (keys and serialized responses).</summary>
    public long SizeLimit { get; }

    /// <summary>Bytes the entries take now.</summary>
    public long Size
    {
        get
        {
            lock (_lock)
            {
                return _size;
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Entries removed to stay within <see cref="SizeLimit"/>.</summary>
    public long Evictions { get; private set; }

    public ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var read = StaleRead.Current;
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                return ValueTask.FromResult<byte[]?>(null);
            }

            if (now >= entry.FreshUntil + entry.StaleWindow)
            {
                Remove(entry);
                return ValueTask.FromResult<byte[]?>(null);
            }

            bool fresh = now < entry.FreshUntil;
            if (!fresh && read is not { AllowStale: true })
            {
                return ValueTask.FromResult<byte[]?>(null);
            }

            _recent.Remove(entry.Node);
            _recent.AddFirst(entry.Node);
            read?.Ttl = entry.FreshUntil - now;
            return ValueTask.FromResult<byte[]?>(entry.Value);
        }
    }

    public ValueTask SetAsync(string key, byte[] value, string[]? tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var stale = TimeSpan.Zero;
        var kept = new List<string>(tags?.Length ?? 0);
        foreach (string tag in tags ?? [])
        {
            if (tag.StartsWith(EdgeCacheTags.StalePrefix, StringComparison.Ordinal))
            {
                stale = TimeSpan.FromSeconds(int.Parse(tag.AsSpan(EdgeCacheTags.StalePrefix.Length), CultureInfo.InvariantCulture));
            }
            else
            {
                kept.Add(tag);
            }
        }

        long size = value.Length + (2L * key.Length);
        if (size > SizeLimit)
        {
            return ValueTask.CompletedTask;
        }

        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var old))
            {
                Remove(old);
            }

            var entry = new Entry(key, value, [.. kept], now + validFor, stale, size);
            entry.Node = _recent.AddFirst(entry);
            _entries.Add(key, entry);
            foreach (string tag in entry.Tags)
            {
                if (!_byTag.TryGetValue(tag, out var set))
                {
                    _byTag[tag] = set = [];
                }

                set.Add(entry);
            }

            _size += size;
            while (_size > SizeLimit && _recent.Last is { } last)
            {
                Remove(last.Value);
                Evictions++;
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask EvictByTagAsync(string tag, CancellationToken cancellationToken)
    {
        EvictByTag(tag);
        return ValueTask.CompletedTask;
    }

    /// <summary>Removes every entry with <paramref name="tag"/>; returns how many.</summary>
    public int EvictByTag(string tag)
    {
        lock (_lock)
        {
            if (!_byTag.TryGetValue(tag, out var set))
            {
                return 0;
            }

            var entries = set.ToArray();
            foreach (var entry in entries)
            {
                Remove(entry);
            }

            return entries.Length;
        }
    }

    /// <summary>A fresh entry is stored under <paramref name="edgeKey"/> (the edge cache's own key of a request).</summary>
    public bool IsFresh(string edgeKey)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return _byTag.TryGetValue(EdgeCacheTags.KeyPrefix + edgeKey, out var set) && set.Any(e => now < e.FreshUntil);
        }
    }

    /// <summary>Whether an entry tagged <c>key:</c><paramref name="edgeKey"/> is past its TTL and within its stale window now.</summary>
    public bool HasStale(string edgeKey)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            return _byTag.TryGetValue(EdgeCacheTags.KeyPrefix + edgeKey, out var set)
                && set.Any(e => now >= e.FreshUntil && now < e.FreshUntil + e.StaleWindow);
        }
    }

    private void Remove(Entry entry)
    {
        if (!_entries.Remove(entry.Key))
        {
            return;
        }

        _recent.Remove(entry.Node);
        _size -= entry.Size;
        foreach (string tag in entry.Tags)
        {
            if (_byTag.TryGetValue(tag, out var set) && set.Remove(entry) && set.Count == 0)
            {
                _byTag.Remove(tag);
            }
        }
    }

    private sealed class Entry(string key, byte[] value, string[] tags, DateTimeOffset freshUntil, TimeSpan staleWindow, long size)
    {
        public string Key { get; } = key;

        public byte[] Value { get; } = value;

        public string[] Tags { get; } = tags;

        public DateTimeOffset FreshUntil { get; } = freshUntil;

        public TimeSpan StaleWindow { get; } = staleWindow;

        public long Size { get; } = size;

        public LinkedListNode<Entry> Node { get; set; } = null!;
    }
}
