namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// One cache rule, bound from <c>Gateway:EdgeHttp:Cache:Rules:N</c>. Rules are tried in order; the first whose
/// <see cref="Host"/> and <see cref="Path"/> match decides. Every key is listed in docs/gateway-options.md.
/// </summary>
public sealed class EdgeCacheRuleOptions
{
    /// <summary>Host glob (<c>*</c> within one label, <c>**</c> any), matched without the port, case-insensitive. Defaults to any host.</summary>
    public string? Host { get; set; }

    /// <summary>
    /// Path glob, required: <c>*</c> within one segment, <c>**</c> across segments (<c>/assets/**</c>), <c>?</c> one
    /// character, <c>{js,css}</c> alternatives; case-insensitive, the query string is not part of it.
    /// </summary>
    public string Path { get; set; } = string.Empty;

    /// <summary><c>CacheEverything</c> or <c>Bypass</c>. Defaults to CacheEverything.</summary>
    public EdgeCacheAction Action { get; set; } = EdgeCacheAction.CacheEverything;

    /// <summary>How long a stored response is served from the edge without asking the origin (1 s – 1 year). Defaults to 3600 (1 h).</summary>
    public int EdgeTtlSeconds { get; set; } = 3600;

    /// <summary>
    /// Cache-Control sent to the client: <c>public, max-age=N</c> (0: <c>no-cache</c>). Defaults to unset: the origin's
    /// Cache-Control goes through.
    /// </summary>
    public int? BrowserTtlSeconds { get; set; }

    /// <summary>The query string is left out of the cache key (<c>/app.js?v=1</c> and <c>/app.js?v=2</c> are one entry). Defaults to false.</summary>
    public bool IgnoreQueryString { get; set; }

    /// <summary>A request header whose value is part of the cache key (e.g. <c>Accept-Language</c>). Defaults to none.</summary>
    public string? VaryByHeader { get; set; }

    /// <summary>
    /// How long past its edge TTL a stored response may still be served when the origin fails (502/503/504 or no
    /// answer), 0 – 30 days. Defaults to unset: <see cref="EdgeCacheOptions.StaleIfErrorSeconds"/>.
    /// </summary>
    public int? StaleIfErrorSeconds { get; set; }

    /// <summary>Tags put on every entry this rule stores, for purge by tag (<c>Tags:0</c>, …). Defaults to none.</summary>
    public string[] Tags { get; set; } = [];
}
