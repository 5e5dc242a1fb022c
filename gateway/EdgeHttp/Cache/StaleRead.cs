namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// What the store tells the request that looked an entry up (output caching's lookup is a call with no
/// <c>HttpContext</c>, so the request's holder flows to the store in an <see cref="AsyncLocal{T}"/>): whether a stale
/// entry may be served (the second pass after an origin failure), and the entry's remaining freshness.
/// </summary>
internal sealed class StaleRead
{
    private static readonly AsyncLocal<StaleRead?> s_current = new();

    public static StaleRead? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    /// <summary>Set by the middleware for the stale-if-error pass: the store may return an entry past its TTL, within its stale window.</summary>
    public bool AllowStale { get; set; }

    /// <summary>Set by the store: the entry it returned and how long it stays fresh (negative: stale by that much).</summary>
    public TimeSpan? Ttl { get; set; }
}
