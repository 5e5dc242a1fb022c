using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Relay.Contracts.Tokens;

/// <summary>
/// Holds core-sim's ES256 signing keys; issues tokens (<c>iss</c>, <c>aud</c>, <c>nbf</c>, <c>exp</c>, <c>iat</c>,
/// header <c>kid</c>) and publishes the public keys (PEM of the current key, JWKS of every key still published).
/// <see cref="Rotate"/> makes a new current key; the previous one stays in the JWKS for <see cref="KeyOverlap"/> so
/// the tokens it signed still verify. Thread-safe.
/// </summary>
public sealed class TokenIssuer : IDisposable
{
    /// <summary>The <c>iss</c> of core-sim's tokens unless configured otherwise.</summary>
    public const string DefaultIssuer = "relay-core";

    /// <summary>The <c>aud</c> of core-sim's tokens unless configured otherwise: the relay fleet.</summary>
    public const string DefaultAudience = "relay";

    private readonly TimeProvider _time;
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly Lock _gate = new();
    private SigningKey _current;
    private List<(SigningKey Key, DateTimeOffset RetiredUntil)> _retired = [];

    /// <summary>Creates an issuer with a new key pair, or the PEM private key at <paramref name="signingKeyPath"/>.</summary>
    /// <param name="signingKeyPath">PEM private key (P-256). Defaults to a new key.</param>
    /// <param name="timeProvider">Clock for <c>iat</c>/<c>nbf</c>/<c>exp</c> and the overlap. Defaults to the system clock.</param>
    /// <param name="issuer"><c>iss</c>. Defaults to <see cref="DefaultIssuer"/>.</param>
    /// <param name="audience"><c>aud</c>. Defaults to <see cref="DefaultAudience"/>.</param>
    /// <param name="keyOverlap">How long a rotated-out key stays published. Defaults to 24 h (the longest token core-sim issues).</param>
    public TokenIssuer(string? signingKeyPath = null, TimeProvider? timeProvider = null, string issuer = DefaultIssuer, string audience = DefaultAudience, TimeSpan? keyOverlap = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        Issuer = issuer;
        Audience = audience;
        KeyOverlap = keyOverlap ?? TimeSpan.FromHours(24);
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (!string.IsNullOrEmpty(signingKeyPath))
        {
            key.ImportFromPem(File.ReadAllText(signingKeyPath));
        }

        _current = new SigningKey(key);
    }

    /// <summary>The <c>iss</c> of every token.</summary>
    public string Issuer { get; }

    /// <summary>The <c>aud</c> of every token.</summary>
    public string Audience { get; }

    /// <summary>How long a rotated-out key stays in the JWKS.</summary>
    public TimeSpan KeyOverlap { get; }

    /// <summary>The key id of the current key, put in the header of every new token.</summary>
    public string KeyId => _current.Security.KeyId;

    /// <summary>The current public key, PEM ("PUBLIC KEY", SPKI).</summary>
    public string PublicKeyPem => _current.Pem;

    /// <summary>The published public keys (current first, then rotated-out keys still in their overlap) as a JWKS document.</summary>
    public string JwksJson => JsonSerializer.Serialize(new { keys = PublishedKeys().Select(k => k.Jwk).ToArray() });

    /// <summary>A verifier for tokens of this issuer; it follows <see cref="Rotate"/>.</summary>
    public TokenVerifier CreateVerifier(TimeSpan? clockSkew = null)
    {
        return new TokenVerifier(() => PublishedKeys().ConvertAll(k => (SecurityKey)k.Security), _time, Issuer, Audience, clockSkew);
    }

    /// <summary>
    /// Makes a new current key. The previous key stays published (and verifying) for <see cref="KeyOverlap"/>.
    /// Returns the new key id.
    /// </summary>
    public string Rotate()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var retired = _retired.Where(r => r.RetiredUntil > now).ToList();
            retired.Insert(0, (_current, now + KeyOverlap));
            _retired = retired;
            _current = new SigningKey(ECDsa.Create(ECCurve.NamedCurves.nistP256));
            return _current.Security.KeyId;
        }
    }

    /// <summary>
    /// Issues a token signed with the current key. <paramref name="lifetime"/> may be negative (tests of expiry).
    /// <paramref name="authTime"/>, when the holder signed in, goes in <c>auth_time</c> (a refresh carries it over);
    /// without it the token has none and its <c>iat</c> counts (<see cref="TokenClaims.AuthTime"/>).
    /// </summary>
    public (string Token, DateTimeOffset ExpiresAt) Issue(string sub, string site, string role, TimeSpan lifetime, DateTimeOffset? authTime = null)
    {
        var now = DateTimeOffset.FromUnixTimeSeconds(_time.GetUtcNow().ToUnixTimeSeconds());
        var expiresAt = now + TimeSpan.FromSeconds(Math.Round(lifetime.TotalSeconds));
        var notBefore = expiresAt > now ? now : expiresAt - TimeSpan.FromMinutes(1);
        var claims = new Dictionary<string, object> { ["sub"] = sub, ["site"] = site, ["role"] = role };
        if (authTime is { } signedIn)
        {
            claims["auth_time"] = signedIn.ToUnixTimeSeconds();
        }

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer,
            Audience = Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = notBefore.UtcDateTime,
            Expires = expiresAt.UtcDateTime,
            Claims = claims,
            SigningCredentials = new SigningCredentials(_current.Security, SecurityAlgorithms.EcdsaSha256),
        });
        return (token, expiresAt);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _current.Security.ECDsa.Dispose();
            foreach (var (key, _) in _retired)
            {
                key.Security.ECDsa.Dispose();
            }
        }
    }

    private List<SigningKey> PublishedKeys()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            return [_current, .. _retired.Where(r => r.RetiredUntil > now).Select(r => r.Key)];
        }
    }

    /// <summary>One key pair: its security key (kid = the first 12 bytes of SHA-256 of its SPKI), PEM and JWK.</summary>
    private sealed class SigningKey
    {
        public SigningKey(ECDsa key)
        {
            Security = new ECDsaSecurityKey(key) { KeyId = TokenVerifier.KeyIdOf(key) };
            Pem = key.ExportSubjectPublicKeyInfoPem();
            var p = key.ExportParameters(false);
            Jwk = new Dictionary<string, string>
            {
                ["kty"] = "EC",
                ["crv"] = "P-256",
                ["x"] = System.Buffers.Text.Base64Url.EncodeToString(p.Q.X),
                ["y"] = System.Buffers.Text.Base64Url.EncodeToString(p.Q.Y),
                ["kid"] = Security.KeyId,
                ["use"] = "sig",
                ["alg"] = "ES256",
            };
        }

        public ECDsaSecurityKey Security { get; }

        public string Pem { get; }

        public Dictionary<string, string> Jwk { get; }
    }
}
