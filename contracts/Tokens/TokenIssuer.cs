using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Relay.Contracts.Tokens;

/// <summary>Holds core-sim's ES256 key pair; issues tokens and publishes the public key (PEM, JWKS).</summary>
public sealed class TokenIssuer : IDisposable
{
    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    /// <summary>Creates an issuer with a new key pair, or the PEM private key at <paramref name="signingKeyPath"/>.</summary>
    public TokenIssuer(string? signingKeyPath = null, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        if (!string.IsNullOrEmpty(signingKeyPath))
        {
            _key.ImportFromPem(File.ReadAllText(signingKeyPath));
        }

        var spki = _key.ExportSubjectPublicKeyInfo();
        KeyId = Base64Url.Encode(SHA256.HashData(spki).AsSpan(0, 12));
        PublicKeyPem = _key.ExportSubjectPublicKeyInfoPem();
        var p = _key.ExportParameters(false);
        JwksJson = JsonSerializer.Serialize(new
        {
            keys = new[]
            {
                new { kty = "EC", crv = "P-256", x = Base64Url.Encode(p.Q.X), y = Base64Url.Encode(p.Q.Y), kid = KeyId, use = "sig", alg = "ES256" },
            },
        });
    }

    /// <summary>The key id put in every token header.</summary>
    public string KeyId { get; }

    /// <summary>The public key, PEM ("PUBLIC KEY", SPKI).</summary>
    public string PublicKeyPem { get; }

    /// <summary>The public key as a JWKS document.</summary>
    public string JwksJson { get; }

    /// <summary>A verifier for tokens of this issuer.</summary>
    public TokenVerifier CreateVerifier() => TokenVerifier.FromPem(PublicKeyPem, _time);

    /// <summary>Issues a token. <paramref name="lifetime"/> may be negative (tests of expiry).</summary>
    public (string Token, DateTimeOffset ExpiresAt) Issue(string sub, string site, string role, TimeSpan lifetime)
    {
        var now = _time.GetUtcNow();
        var expiresAt = now + lifetime;
        var header = JsonSerializer.SerializeToUtf8Bytes(new { alg = "ES256", typ = "JWT", kid = KeyId });
        var payload = JsonSerializer.SerializeToUtf8Bytes(new { sub, site, role, iat = now.ToUnixTimeSeconds(), exp = expiresAt.ToUnixTimeSeconds() });
        var signingInput = Base64Url.Encode(header) + "." + Base64Url.Encode(payload);
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        return (signingInput + "." + Base64Url.Encode(signature), DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds()));
    }

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();
}
