namespace Relay.Gateway.Sessions;

/// <summary>
/// The sessions' token expiries on one timer (issue 21): sessions in buckets by the whole second their token expires in
/// (rounded up: never early), one timer armed for the earliest bucket. Replaces a timer per session (~170 B each: the
/// provider's wrapper, Timer, TimerHolder and TimerQueueTimer); tokens minted around the same second share a bucket.
/// A session that ends leaves its bucket at once, so an ended session is never held until its token's expiry.
/// </summary>
internal sealed class SessionExpiry(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, HashSet<RelaySession>> _buckets = [];
    private ITimer? _timer;
    private long _armedFor = long.MaxValue; // the bucket (Unix second) the timer is armed for

    /// <summary>Sessions waiting for their expiry.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Values.Sum(b => b.Count);
            }
        }
    }

    /// <summary>Calls <see cref="RelaySession.OnTokenExpired"/> once <paramref name="expiresAt"/> has passed. Returns the bucket.</summary>
    public long Add(RelaySession session, DateTimeOffset expiresAt)
    {
        long second = (Math.Max(0, expiresAt.ToUnixTimeMilliseconds()) + 999) / 1000;
        lock (_lock)
        {
            if (!_buckets.TryGetValue(second, out var bucket))
            {
                _buckets[second] = bucket = [];
            }

            bucket.Add(session);
            if (second < _armedFor)
            {
                ArmLocked(second);
            }
        }

        return second;
    }

    /// <summary>The session ended (or expired): out of its bucket.</summary>
    public void Remove(RelaySession session, long second)
    {
        lock (_lock)
        {
            if (_buckets.TryGetValue(second, out var bucket) && bucket.Remove(session) && bucket.Count == 0)
            {
                _buckets.Remove(second);
                if (_buckets.Count == 0)
                {
                    _armedFor = long.MaxValue;
                    _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan); // nothing to wait for: not rooted
                }
            }
        }
    }

    private void ArmLocked(long second)
    {
        _armedFor = second;
        var due = TimeSpan.FromMilliseconds(Math.Max(0, second * 1000 - time.GetUtcNow().ToUnixTimeMilliseconds()));
        _timer ??= time.CreateTimer(static s => ((SessionExpiry)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _timer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void OnTimer()
    {
        List<RelaySession>? expired = null;
        lock (_lock)
        {
            long nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            long next = long.MaxValue;
            List<long>? done = null;
            foreach (var (second, bucket) in _buckets)
            {
                if (second * 1000 <= nowMs)
                {
                    (expired ??= []).AddRange(bucket);
                    (done ??= []).Add(second);
                }
                else if (second < next)
                {
                    next = second;
                }
            }

            foreach (long second in done ?? [])
            {
                _buckets.Remove(second);
            }

            _armedFor = long.MaxValue;
            if (next != long.MaxValue)
            {
                ArmLocked(next);
            }
        }

        foreach (var session in expired ?? [])
        {
            session.OnTokenExpired(); // outside the lock: it closes the session (which calls Remove, a no-op now)
        }
    }
}
