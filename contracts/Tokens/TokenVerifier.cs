using System.Security.Cryptography;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Relay.Contracts.Tokens;

/// <summary>
/// Verifies the client tokens core-sim issues with Microsoft.IdentityModel.JsonWebTokens: compact JWS, ES256 only,
/// header <c>kid</c> naming one of the core's published keys, <c>iss</c> and <c>aud</c> as configured, <c>exp</c> and
/// <c>nbf</c> required and checked against a <see cref="TimeProvider"/> with a small clock skew, claims <c>sub</c>,
/// <c>site</c>, <c>role</c> (visitor|operator). The keys can be replaced at run time (a refreshed JWKS). Thread-safe.
/// </summary>
public sealed class TokenVerifier
{
    /// <summary>The clock skew allowed on <c>exp</c> and <c>nbf</c> unless configured otherwise.</summary>
    public static readonly TimeSpan DefaultClockSkew = TimeSpan.FromSeconds(5);

    private const int MaxTokenLength = 8192;

    /// <summary>The last second <see cref="DateTimeOffset.FromUnixTimeSeconds"/> takes (9999-12-31).</summary>
    private const long MaxUnixSeconds = 253_402_300_799;

    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenLength };
    private readonly TokenValidationParameters _parameters;
    private readonly Func<IReadOnlyList<SecurityKey>>? _keySource;
    private volatile IReadOnlyList<SecurityKey> _keys;

    /// <summary>Creates a verifier for a fixed set of keys (replaceable with <see cref="ReplaceKeys"/>).</summary>
    /// <param name="keys">The core's public keys; each with its <c>kid</c>.</param>
    /// <param name="timeProvider">Clock for <c>exp</c> and <c>nbf</c>. Defaults to the system clock.</param>
    /// <param name="issuer">The expected <c>iss</c>. Defaults to <see cref="TokenIssuer.DefaultIssuer"/>.</param>
    /// <param name="audience">The expected <c>aud</c>. Defaults to <see cref="TokenIssuer.DefaultAudience"/>.</param>
    /// <param name="clockSkew">Tolerance on <c>exp</c> and <c>nbf</c>. Defaults to <see cref="DefaultClockSkew"/> (5 s).</param>
    public TokenVerifier(IEnumerable<SecurityKey> keys, TimeProvider? timeProvider = null, string issuer = TokenIssuer.DefaultIssuer, string audience = TokenIssuer.DefaultAudience, TimeSpan? clockSkew = null)
        : this((Func<IReadOnlyList<SecurityKey>>?)null, timeProvider, issuer, audience, clockSkew)
    {
        _keys = keys.ToArray();
    }

    internal TokenVerifier(Func<IReadOnlyList<SecurityKey>>? keySource, TimeProvider? timeProvider, string issuer, string audience, TimeSpan? clockSkew)
    {
        _keySource = keySource;
        _keys = [];
        var time = timeProvider ?? TimeProvider.System;
        var skew = clockSkew ?? DefaultClockSkew;
        _parameters = new TokenValidationParameters
        {
            ValidIssuer = issuer,
            ValidAudience = audience,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ClockSkew = skew,
            LifetimeValidator = (notBefore, expires, _, _) => ValidateLifetime(notBefore, expires, time.GetUtcNow().UtcDateTime, skew),
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            TryAllIssuerSigningKeys = false,
            IssuerSigningKeyResolver = (_, _, kid, _) => ResolveKey(kid),
        };
    }

    /// <summary>Called with the <c>kid</c> of a token whose key is not among the current keys (e.g. to refresh a JWKS).</summary>
    public Action<string?>? UnknownKeyId { get; set; }

    /// <summary>The ids of the keys tokens may be signed with now.</summary>
    public IReadOnlyList<string> KeyIds => Keys().Select(k => k.KeyId).ToArray();

    /// <summary>Creates a verifier from a PEM public key ("PUBLIC KEY", SPKI), as served at /v1/public-key.pem.</summary>
    public static TokenVerifier FromPem(string pem, TimeProvider? timeProvider = null, string issuer = TokenIssuer.DefaultIssuer, string audience = TokenIssuer.DefaultAudience, TimeSpan? clockSkew = null)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return new TokenVerifier([new ECDsaSecurityKey(key) { KeyId = KeyIdOf(key) }], timeProvider, issuer, audience, clockSkew);
    }

    /// <summary>The signing keys of a JWKS document (as served at /.well-known/jwks.json). Throws <see cref="ArgumentException"/> when it is not one.</summary>
    public static IReadOnlyList<SecurityKey> KeysFromJwks(string json) => new JsonWebKeySet(json).GetSigningKeys().ToArray();

    /// <summary>Replaces the keys (a refreshed JWKS); tokens in flight are verified against the old or the new set.</summary>
    public void ReplaceKeys(IEnumerable<SecurityKey> keys) => _keys = keys.ToArray();

    /// <summary>Parses and verifies a token. Never throws for bad input.</summary>
    public TokenVerifyResult Verify(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return TokenVerifyResult.Fail("missing token");
        }

        TokenValidationResult result;
        try
        {
            // Completes synchronously: the keys are in memory (no ConfigurationManager to fetch from), so nothing
            // blocks here. The synchronous ValidateToken is obsolete; admission (the fast upgrade path) is synchronous.
            result = _handler.ValidateTokenAsync(token, _parameters).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenException)
        {
            return TokenVerifyResult.Fail("malformed token");
        }

        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return TokenVerifyResult.Fail(Describe(result.Exception));
        }

        if (!jwt.TryGetPayloadValue<long>("nbf", out _))
        {
            return TokenVerifyResult.Fail("missing nbf");
        }

        jwt.TryGetPayloadValue<string>("sub", out var sub);
        jwt.TryGetPayloadValue<string>("site", out var site);
        jwt.TryGetPayloadValue<string>("role", out var role);
        if (string.IsNullOrEmpty(sub) || site is null)
        {
            return TokenVerifyResult.Fail("missing sub or site");
        }

        if (!TokenClaims.IsKnownRole(role))
        {
            return TokenVerifyResult.Fail("wrong role");
        }

        long? authTime = jwt.TryGetPayloadValue<long>("auth_time", out long auth) ? auth : jwt.TryGetPayloadValue<long>("iat", out long iat) ? iat : null;
        return new TokenVerifyResult(new TokenClaims(sub, site, role!, new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero))
        {
            AuthTime = authTime is { } seconds && seconds is >= 0 and <= MaxUnixSeconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null,
        }, null);
    }

    /// <summary>The key id core-sim gives a P-256 key: base64url of the first 12 bytes of the SHA-256 of its SPKI.</summary>
    public static string KeyIdOf(ECDsa key) => System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(key.ExportSubjectPublicKeyInfo()).AsSpan(0, 12));

    private IReadOnlyList<SecurityKey> Keys() => _keySource?.Invoke() ?? _keys;

    private IEnumerable<SecurityKey> ResolveKey(string? kid)
    {
        foreach (var key in Keys())
        {
            if (kid is not null && string.Equals(key.KeyId, kid, StringComparison.Ordinal))
            {
                return [key];
            }
        }

        UnknownKeyId?.Invoke(kid);
        return [];
    }

    /// <summary>The library's own lifetime check reads the system clock; this one reads the <see cref="TimeProvider"/>.</summary>
    private static bool ValidateLifetime(DateTime? notBefore, DateTime? expires, DateTime now, TimeSpan skew)
    {
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("the token has no exp");
        }

        if (notBefore > now + skew)
        {
            throw new SecurityTokenNotYetValidException("the token is not valid yet (nbf)") { NotBefore = notBefore.Value };
        }

        if (expires < now - skew)
        {
            throw new SecurityTokenExpiredException("the token has expired (exp)") { Expires = expires.Value };
        }

        return true;
    }

    private static string Describe(Exception? e) => e switch
    {
        SecurityTokenExpiredException => "expired",
        SecurityTokenNotYetValidException => "not yet valid",
        SecurityTokenNoExpirationException => "missing exp",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidAlgorithmException => "unsupported alg",
        SecurityTokenSignatureKeyNotFoundException => "unknown kid",
        SecurityTokenInvalidSignatureException => "bad signature",
        SecurityTokenMalformedException => "malformed token",
        _ => "invalid token",
    };
}
