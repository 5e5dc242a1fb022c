namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>What an edge cache rule does with the requests it matches.</summary>
public enum EdgeCacheAction
{
    /// <summary>Store 200 responses at the edge (whatever the origin's Cache-Control says) and serve them for the edge TTL.</summary>
    CacheEverything,

    /// <summary>Always forward to the origin; nothing stored (Cache-Status <c>fwd=bypass</c>).</summary>
    Bypass,
}
