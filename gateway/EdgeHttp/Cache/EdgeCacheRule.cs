using System.Text.RegularExpressions;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>A validated rule, its globs compiled once at start (the options' <see cref="EdgeCacheRuleOptions"/>).</summary>
internal sealed class EdgeCacheRule
{
    private readonly Regex? _host;
    private readonly Regex _path;

    public EdgeCacheRule(int index, EdgeCacheRuleOptions options, int defaultStaleIfErrorSeconds)
    {
        Index = index;
        Options = options;
        _host = string.IsNullOrEmpty(options.Host) ? null : CacheGlob.TryCompile(options.Host, '.', out _);
        _path = CacheGlob.TryCompile(options.Path, '/', out _) ?? throw new ArgumentException($"bad path glob '{options.Path}'", nameof(options));
        EdgeTtl = TimeSpan.FromSeconds(options.EdgeTtlSeconds);
        StaleIfError = TimeSpan.FromSeconds(options.StaleIfErrorSeconds ?? defaultStaleIfErrorSeconds);
        BrowserCacheControl = options.BrowserTtlSeconds switch
        {
            null => null,
            0 => "no-cache",
            int seconds => $"public, max-age={seconds}",
        };
    }

    /// <summary>Position in the rule list (configured rules first, then the built-in ones); <c>/status</c> and the logs name it.</summary>
    public int Index { get; }

    public EdgeCacheRuleOptions Options { get; }

    public bool Caches => Options.Action == EdgeCacheAction.CacheEverything;

    public TimeSpan EdgeTtl { get; }

    public TimeSpan StaleIfError { get; }

    /// <summary>The Cache-Control the client gets; null leaves the origin's.</summary>
    public string? BrowserCacheControl { get; }

    public bool Matches(string host, string path) =>
        (_host is null || _host.IsMatch(host)) && _path.IsMatch(path);

    public override string ToString() => $"{Index}: {(Options.Host is { Length: > 0 } h ? h : "*")}{Options.Path} {Options.Action}";
}
