using Microsoft.Extensions.Logging;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>Purges the edge cache by path prefix or by tag (the admin API and the core's <c>cache-purge</c> order).</summary>
internal sealed partial class EdgeCachePurger(EdgeCacheStore store, EdgeCacheMetrics metrics, ILogger<EdgeCachePurger> logger)
{
    public const int MaxPurgeLength = 1024;

    /// <summary>
    /// Removes the entries under <paramref name="prefix"/> (by whole path segments: <c>/assets</c> is that path and
    /// everything under <c>/assets/</c>; <c>/</c> is everything) or tagged <paramref name="tag"/>; returns how many, or null with <paramref name="error"/> for a bad request.
    /// </summary>
    public int? Purge(string? prefix, string? tag, string source, out string? error)
    {
        error = (prefix, tag) switch
        {
            (null or "", null or "") => "give a prefix (a path starting with '/') or a tag",
            ({ Length: > 0 }, { Length: > 0 }) => "give a prefix or a tag, not both",
            ({ Length: > 0 } p, _) when p[0] != '/' || p.Length > MaxPurgeLength => $"a prefix is a path starting with '/', at most {MaxPurgeLength} characters",
            (_, { Length: > 0 } t) when t.Length > EdgeCacheOptionsValidator.MaxTagLength => $"a tag is at most {EdgeCacheOptionsValidator.MaxTagLength} characters",
            _ => null,
        };
        if (error is not null)
        {
            return null;
        }

        int purged = prefix is not { Length: > 0 } ? store.EvictByTag(EdgeCacheTags.ForTag(tag!))
            : prefix.EndsWith('/') ? store.EvictByTag(EdgeCacheTags.ForPrefix(prefix))
            : store.EvictByTag(EdgeCacheTags.ForPrefix(prefix)) + store.EvictByTag(EdgeCacheTags.ForPrefix(prefix + "/")); // the path and its folder
        metrics.Purged(purged);
        Log.Purged(logger, prefix is { Length: > 0 } ? "prefix" : "tag", prefix is { Length: > 0 } ? prefix : tag!, purged, source);
        return purged;
    }
}
