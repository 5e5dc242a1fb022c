namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// The edge cache in front of HTTP forwarding (issue 18), bound from <c>Gateway:EdgeHttp:Cache</c>. Every key is in
/// docs/gateway-options.md.
/// </summary>
public sealed class EdgeCacheOptions
{
    public const string Section = "Gateway:EdgeHttp:Cache";

    /// <summary>The cache is on. Off, every request is forwarded with <c>Cache-Status: Relay; fwd=bypass</c>. Defaults to true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Bytes all stored responses (headers and bodies) may take; the least recently used go first. Defaults to 104857600 (100 MiB).</summary>
    public long SizeLimitBytes { get; set; } = 100 * 1024 * 1024;

    /// <summary>Largest response body stored; a bigger one is forwarded, not stored. Defaults to 8388608 (8 MiB).</summary>
    public long MaximumBodyBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>
    /// How long past its edge TTL a stored response may be served when the origin fails, for rules that do not set
    /// their own (0 turns stale-if-error off). Defaults to 86400 (1 day).
    /// </summary>
    public int StaleIfErrorSeconds { get; set; } = 86400;

    /// <summary>
    /// How long a request waits for another request that is filling the same key from the origin (request coalescing)
    /// before it goes to the origin itself; 0 turns coalescing off. Defaults to 2000 (2 s).
    /// </summary>
    public int LockTimeoutMilliseconds { get; set; } = 2000;

    /// <summary>
    /// After the configured rules, the built-in ones: bypass <c>/api/**</c>; cache <c>/assets/**</c> and common static
    /// files (<c>**/*.{js,css,…}</c>) for an hour. Defaults to true.
    /// </summary>
    public bool DefaultRules { get; set; } = true;

    /// <summary>The ordered rules (<c>Rules:0:Path</c>, …); the first match decides; no match is a bypass. Defaults to none.</summary>
    public List<EdgeCacheRuleOptions> Rules { get; set; } = [];

    /// <summary>The built-in rules that follow the configured ones when <see cref="DefaultRules"/> is on.</summary>
    public static IReadOnlyList<EdgeCacheRuleOptions> BuiltInRules { get; } =
    [
        new() { Path = "/api/**", Action = EdgeCacheAction.Bypass },
        new() { Path = "/assets/**" },
        new() { Path = "**/*.{js,mjs,css,map,png,jpg,jpeg,gif,webp,avif,svg,ico,woff,woff2,ttf,otf,eot,wasm}" },
    ];
}
