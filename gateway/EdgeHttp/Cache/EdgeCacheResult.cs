namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>How the edge cache answered a request (the <c>result</c> label of <c>relay_gateway_edge_cache_requests_total</c>).</summary>
internal enum EdgeCacheResult
{
    /// <summary>Forwarded: no rule caches it, or not GET/HEAD, or it carries Authorization.</summary>
    Bypass,

    /// <summary>Served from the edge (a 200 or a 304), the origin not asked.</summary>
    Hit,

    /// <summary>Forwarded to the origin and (when it may be) stored.</summary>
    Miss,

    /// <summary>The origin failed and a stored response past its TTL was served (stale-if-error).</summary>
    Stale,
}
