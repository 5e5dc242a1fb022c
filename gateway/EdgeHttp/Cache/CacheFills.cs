namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// Request coalescing with a deadline (nginx's <c>proxy_cache_lock</c> with <c>proxy_cache_lock_timeout</c>): the first
/// request for a key that is not fresh in the store fills it; the others wait for that fill, at most
/// <see cref="EdgeCacheOptions.LockTimeoutMilliseconds"/>, then look the key up again (a hit once the fill is stored) or
/// go to the origin themselves.
/// </summary>
/// <remarks>
/// Not output caching's own locking (<c>AllowLocking</c>): its waiters wait for the whole first request, with no deadline,
/// and that request ends only when its client has read the whole body. A security review found one client that asks
/// first and reads slowly (above Kestrel's minimum rate) holding every other user's request for the asset for as long
/// as it liked; a real phone on a slow link does the same to everyone behind it. A fill here is done when its request
/// is answered from the cache (a hit: at its first byte) or ends, and a waiter gives up on it after the deadline; the
/// first waiter to give up ends the fill for all (they go on, and the next request leads a new fill).
/// At most one fill per key; each belongs to a request in flight, so they are as many as those requests at most.
/// </remarks>
internal sealed class CacheFills
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Fill> _fills = new(StringComparer.Ordinal);

    /// <summary>Fills in flight (for tests and metrics).</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _fills.Count;
            }
        }
    }

    /// <summary>The fill of <paramref name="key"/>: a new one this request leads (<paramref name="leads"/>), or the one in flight.</summary>
    public Fill Join(string key, out bool leads)
    {
        lock (_lock)
        {
            if (_fills.TryGetValue(key, out var fill))
            {
                leads = false;
                return fill;
            }

            fill = new Fill(this, key);
            _fills.Add(key, fill);
            leads = true;
            return fill;
        }
    }

    private void Remove(Fill fill)
    {
        lock (_lock)
        {
            if (_fills.TryGetValue(fill.Key, out var current) && ReferenceEquals(current, fill))
            {
                _fills.Remove(fill.Key);
            }
        }
    }

    /// <summary>One key's fill: done when its request is answered from the cache or ends.</summary>
    internal sealed class Fill(CacheFills owner, string key)
    {
        private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Key { get; } = key;

        public Task Done => _done.Task;

        /// <summary>The leader's request no longer holds the key (idempotent).</summary>
        public void Complete()
        {
            owner.Remove(this);
            _done.TrySetResult();
        }
    }
}
