using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Tokens;

/// <summary>
/// Exchanges a token this core signed, valid or expired at most <see cref="CoreSimOptions.TokenRefreshWindow"/> ago, for a
/// fresh one with the same claims (<c>POST /v1/negotiate</c>). Allowed in every environment: only a token of this core's
/// own keys is renewed, so it mints nothing a caller did not already hold. A chain of refreshes ends
/// <see cref="CoreSimOptions.MaxSessionAge"/> after its first token was issued: the fresh token carries that time
/// (<c>auth_time</c>; the first token's <c>iat</c>), never expires after it, and past it the holder must sign in again.
/// </summary>
internal sealed class TokenRefresher(TokenIssuer issuer, IOptions<CoreSimOptions> options, TimeProvider time)
{
    // The window as the clock skew: exp may lie that far in the past (and nbf that far ahead, harmless for a renewal).
    private readonly TokenVerifier _verifier = issuer.CreateVerifier(options.Value.TokenRefreshWindow);

    /// <summary>A fresh token and its expiry, or the reason the token was refused.</summary>
    public bool TryRefresh(string? token, out string fresh, out DateTimeOffset expiresAt, out string? error)
    {
        fresh = string.Empty;
        expiresAt = default;
        var o = options.Value;
        var result = _verifier.Verify(token);
        if (result.Claims is not { } claims)
        {
            error = result.Error == "expired" ? $"the token expired more than {o.TokenRefreshWindow} ago" : result.Error;
            return false;
        }

        if (claims.AuthTime is not { } signedIn)
        {
            error = "the token has no issue time (iat or auth_time): sign in again";
            return false;
        }

        // Whole seconds left, so the fresh exp (whole seconds from a truncated now) is never after the session's end.
        var end = signedIn + o.MaxSessionAge;
        var left = TimeSpan.FromSeconds(Math.Floor((end - time.GetUtcNow()).TotalSeconds));
        if (left < TimeSpan.FromSeconds(1))
        {
            error = $"the session began at {signedIn:u}, CoreSim:MaxSessionAge ({o.MaxSessionAge}) ago or more: sign in again";
            return false;
        }

        (fresh, expiresAt) = issuer.Issue(claims.Subject, claims.Site, claims.Role, left < o.DefaultTokenLifetime ? left : o.DefaultTokenLifetime, signedIn);
        error = null;
        return true;
    }
}
