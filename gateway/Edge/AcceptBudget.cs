namespace Relay.Gateway.Edge;

/// <summary>
/// A token bucket of accepts per second (<see cref="Configuration.GatewayOptions.AcceptsPerSecondWhenRefusing"/>),
/// asked by the listener before each accept() while the <see cref="ConnectionGate"/> is refusing (issue 16, as
/// HAProxy's <c>maxconnrate</c>): a flood's surplus then waits in the kernel's listen queue instead of costing an
/// accept, a gate lookup and a reset each, and coming back 250 ms later. Time from a <see cref="TimeProvider"/>.
/// </summary>
internal sealed class AcceptBudget
{
    /// <summary>The shortest wait when the bucket is empty: one timer per 10 ms, not one per connection.</summary>
    public static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(10);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double _burst;
    private double _tokens;
    private long _last;

    /// <param name="perSecond">Accepts per second, at least 1.</param>
    /// <param name="time">The clock.</param>
    public AcceptBudget(int perSecond, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perSecond, 1);
        PerSecond = perSecond;
        _time = time;
        _burst = Math.Max(1, perSecond / 10.0); // 100 ms worth
        _tokens = _burst;
        _last = time.GetTimestamp();
    }

    /// <summary>Accepts per second.</summary>
    public int PerSecond { get; }

    /// <summary>
    /// Zero when one accept may go now (its token is taken); otherwise how long to wait before asking again (at least
    /// <see cref="MinimumWait"/>).
    /// </summary>
    public TimeSpan Take()
    {
        lock (_lock)
        {
            long now = _time.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (_time.GetElapsedTime(_last, now).TotalSeconds * PerSecond));
            _last = now;
            if (_tokens >= 1)
            {
                _tokens--;
                return TimeSpan.Zero;
            }

            var wait = TimeSpan.FromSeconds((1 - _tokens) / PerSecond);
            return wait < MinimumWait ? MinimumWait : wait;
        }
    }
}
