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
/// is answered from the cache (a hit: at its first byte), answers something that will not be stored, or ends; a waiter
/// gives up on it after its deadline, and the first to give up takes the fill out of the table (the next request leads
/// a new fill; the other waiters keep their own deadlines).
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

        /// <summary>The leader's request no longer holds the key (idempotent): its waiters go on.</summary>
        public void Complete()
        {
            owner.Remove(this);
            _done.TrySetResult();
        }

        /// <summary>A waiter gave up on it (its deadline): out of the table, so the next request leads a new fill; the other waiters keep waiting.</summary>
        public void Detach() => owner.Remove(this);
    }
}
