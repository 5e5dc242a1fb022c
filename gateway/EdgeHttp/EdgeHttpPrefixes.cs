using Microsoft.Extensions.Options;

namespace Relay.Gateway.EdgeHttp;

/// <summary>Which request paths edge HTTP forwards to the core (the cache middleware asks the same).</summary>
public sealed class EdgeHttpPrefixes(IOptions<EdgeHttpOptions> options)
{
    private readonly string[] _prefixes = options.Value.Enabled ? options.Value.Prefixes : [];

    /// <summary>The prefixes in force (none when edge HTTP is off).</summary>
    public IReadOnlyList<string> All => _prefixes;

    /// <summary>True when <paramref name="path"/> is forwarded to the core: under a prefix, or a prefix without its
    /// last slash (<c>/files/</c> takes <c>POST /files</c> too).</summary>
    public bool Matches(PathString path)
    {
        string? value = path.Value;
        if (value is null)
        {
            return false;
        }

        foreach (string prefix in _prefixes)
        {
            if (value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || (value.Length == prefix.Length - 1 && prefix.StartsWith(value, StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }
}
