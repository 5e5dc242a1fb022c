namespace Relay.Contracts.Tokens;

/// <summary>The outcome of verifying a token: claims, or the reason it was refused.</summary>
/// <param name="Claims">The claims when valid.</param>
/// <param name="Error">Why it was refused (e.g. "expired", "bad signature"), when not valid.</param>
public readonly record struct TokenVerifyResult(TokenClaims? Claims, string? Error)
{
    /// <summary>True when the token is valid.</summary>
    public bool IsValid => Claims is not null;

    internal static TokenVerifyResult Fail(string error) => new(null, error);
}
