namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// The tags an entry is stored under (output caching's tags, evicted with <c>EvictByTagAsync</c>): <c>path:/</c>,
/// <c>path:/assets/</c>, <c>path:/assets/app.js</c> (every prefix of its path, for purge by prefix), <c>tag:NAME</c>
/// (the rule's tags and the origin's <c>Cache-Tag</c> header), <c>key:…</c> (the entry itself, for stale-if-error).
/// Internal tags starting <c>relay:</c> carry settings to the store and are not kept.
/// </summary>
internal static class EdgeCacheTags
{
    public const string PathPrefix = "path:";
    public const string TagPrefix = "tag:";
    public const string KeyPrefix = "key:";
    public const string StalePrefix = "relay:stale=";

    /// <summary>Most tags from the rule and the origin's Cache-Tag header on one entry; the rest are ignored.</summary>
    public const int MaxTagsPerEntry = 16;

    /// <summary>Deepest path prefix tagged: a deeper path is purged by its first 16 segments' prefixes.</summary>
    public const int MaxPathDepth = 16;

    /// <summary>The origin's header naming an entry's purge tags (comma-separated), removed before the client sees it.</summary>
    public const string CacheTagHeader = "Cache-Tag";

    /// <summary>Adds <c>path:</c> tags for every prefix of <paramref name="path"/> at a '/' and the path itself.</summary>
    public static void AddPathTags(ICollection<string> tags, string path)
    {
        int depth = 0;
        for (int slash = path.IndexOf('/'); slash >= 0 && depth < MaxPathDepth; slash = path.IndexOf('/', slash + 1), depth++)
        {
            tags.Add(PathPrefix + path[..(slash + 1)].ToUpperInvariant());
        }

        tags.Add(PathPrefix + path.ToUpperInvariant());
    }

    /// <summary>The tag a purge of <paramref name="prefix"/> evicts: a path, or a folder when it ends with '/'.</summary>
    public static string ForPrefix(string prefix) => PathPrefix + prefix.ToUpperInvariant();

    public static string ForTag(string tag) => TagPrefix + tag;
}
