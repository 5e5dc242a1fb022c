using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Tokens;

/// <summary>
/// Exchanges a token this core signed, valid or expired at most <see cref="CoreSimOptions.TokenRefreshWindow"/> ago, for a
/// fresh one with the same claims (<c>POST /v1/negotiate</c>). Allowed in every environment: only a token of this core's
/// own keys is renewed, so it mints nothing a caller did not already hold.
/// </summary>
internal sealed class TokenRefresher(TokenIssuer issuer, IOptions<CoreSimOptions> options)
{
    // The window as the clock skew: exp may lie that far in the past (and nbf that far ahead, harmless for a renewal).
    private readonly TokenVerifier _verifier = issuer.CreateVerifier(options.Value.TokenRefreshWindow);

    /// <summary>A fresh token and its expiry, or the reason the token was refused.</summary>
    public bool TryRefresh(string? token, out string fresh, out DateTimeOffset expiresAt, out string? error)
    {
        fresh = string.Empty;
        expiresAt = default;
        var result = _verifier.Verify(token);
        if (result.Claims is not { } claims)
        {
            error = result.Error == "expired" ? $"the token expired more than {options.Value.TokenRefreshWindow} ago" : result.Error;
            return false;
        }

        (fresh, expiresAt) = issuer.Issue(claims.Subject, claims.Site, claims.Role, options.Value.DefaultTokenLifetime);
        error = null;
        return true;
    }
}
