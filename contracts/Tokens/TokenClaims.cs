namespace Relay.Contracts.Tokens;

/// <summary>The verified claims of a client token.</summary>
/// <param name="Subject">The visitor or operator id (<c>sub</c>).</param>
/// <param name="Site">The site (<c>site</c>).</param>
/// <param name="Role"><c>visitor</c> or <c>operator</c> (<c>role</c>).</param>
/// <param name="ExpiresAt">Expiry (<c>exp</c>).</param>
public sealed record TokenClaims(string Subject, string Site, string Role, DateTimeOffset ExpiresAt)
{
    /// <summary>
    /// When the holder signed in: <c>auth_time</c>, which a refreshed token carries over from the one it replaced, or
    /// <c>iat</c> for a token without it (the first of a chain). Null when the token has neither. Not in <see cref="ToDictionary"/>.
    /// </summary>
    public DateTimeOffset? AuthTime { get; init; }

    /// <summary>The roles a token may carry.</summary>
    public static bool IsKnownRole(string? role) => role is "visitor" or "operator";

    /// <summary>The claims as the string map a gateway puts in a stream's OpenInfo.</summary>
    public IReadOnlyDictionary<string, string> ToDictionary() => new Dictionary<string, string>
    {
        ["sub"] = Subject,
        ["site"] = Site,
        ["role"] = Role,
        ["exp"] = ExpiresAt.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>Reads claims from an OpenInfo map (trusted: the gateway verified the token). Null when sub/site/role are missing.</summary>
    public static TokenClaims? FromDictionary(IReadOnlyDictionary<string, string> claims)
    {
        if (!claims.TryGetValue("sub", out var sub) || !claims.TryGetValue("site", out var site) || !claims.TryGetValue("role", out var role)
            || string.IsNullOrEmpty(sub) || !IsKnownRole(role))
        {
            return null;
        }

        var exp = claims.TryGetValue("exp", out var e) && long.TryParse(e, out var s) ? DateTimeOffset.FromUnixTimeSeconds(s) : DateTimeOffset.MaxValue;
        return new TokenClaims(sub, site ?? string.Empty, role!, exp);
    }
}
