using Microsoft.Extensions.Logging;
using Relay.Contracts.Control;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>Purges the edge cache by path prefix or by tag (the admin API and the core's <c>cache-purge</c> order).</summary>
internal sealed partial class EdgeCachePurger(EdgeCacheStore store, EdgeCacheMetrics metrics, ILogger<EdgeCachePurger> logger)
{
    /// <summary>
    /// Removes the entries under <paramref name="prefix"/> (by whole path segments: <c>/assets</c> is that path and
    /// everything under <c>/assets/</c>; <c>/</c> is everything) or tagged <paramref name="tag"/>; returns how many, or null with <paramref name="error"/> for a bad request.
    /// </summary>
    public int? Purge(string? prefix, string? tag, string source, out string? error)
    {
        error = new CachePurgeOrder(prefix, tag).Problem();
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

    /// <summary>The core's <c>cache-purge</c> order over the backhaul (a Command frame); other commands are not this one's.</summary>
    public void OnCommand(string name, ReadOnlyMemory<byte> argument)
    {
        if (name != ControlCodec.CachePurgeCommand)
        {
            return;
        }

        if (!ControlCodec.TryDecode(name, argument.Span, out var order) || order is not CachePurgeOrder purge)
        {
            Log.OrderRefused(logger, "not a valid cache-purge order (one of prefix or tag, bounded)");
            return;
        }

        _ = Purge(purge.Prefix, purge.Tag, "the core's order", out _);
    }
}
