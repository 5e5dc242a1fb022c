using Microsoft.Extensions.Options;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>The ordered rules: the configured ones, then (unless turned off) <see cref="EdgeCacheOptions.BuiltInRules"/>.</summary>
internal sealed class EdgeCacheRules
{
    private readonly EdgeCacheRule[] _rules;

    public EdgeCacheRules(IOptions<EdgeCacheOptions> options)
    {
        var o = options.Value;
        var all = o.DefaultRules ? o.Rules.Concat(EdgeCacheOptions.BuiltInRules) : o.Rules;
        _rules = [.. all.Select((r, i) => new EdgeCacheRule(i, r, o.StaleIfErrorSeconds))];
    }

    public IReadOnlyList<EdgeCacheRule> All => _rules;

    /// <summary>The first rule matching the host (without port) and path, or null (a bypass).</summary>
    public EdgeCacheRule? Match(string host, string path)
    {
        foreach (var rule in _rules)
        {
            if (rule.Matches(host, path))
            {
                return rule;
            }
        }

        return null;
    }
}
