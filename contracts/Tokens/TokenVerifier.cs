using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Relay.Contracts.Tokens;

/// <summary>
/// Verifies the client tokens core-sim issues: compact JWS, header <c>{"alg":"ES256","typ":"JWT","kid":…}</c>,
/// signature IEEE P1363 (r‖s) over P-256/SHA-256, claims <c>sub</c>, <c>site</c>, <c>role</c> (visitor|operator),
/// <c>exp</c>, <c>iat</c>. Self-contained (only System.Security.Cryptography and System.Text.Json) so a relay
/// can copy or reference it. Thread-safe.
/// </summary>
public sealed class TokenVerifier
{
    private readonly ECDsa _publicKey;
    private readonly TimeProvider _time;
    private readonly TimeSpan _clockSkew;

    /// <summary>Creates a verifier for a P-256 public key.</summary>
    /// <param name="publicKey">The core's public key.</param>
    /// <param name="timeProvider">Clock for <c>exp</c>. Defaults to the system clock.</param>
    /// <param name="clockSkew">Tolerance on <c>exp</c>. Defaults to 30 s.</param>
    public TokenVerifier(ECDsa publicKey, TimeProvider? timeProvider = null, TimeSpan? clockSkew = null)
    {
        _publicKey = publicKey;
        _time = timeProvider ?? TimeProvider.System;
        _clockSkew = clockSkew ?? TimeSpan.FromSeconds(30);
    }

    /// <summary>Creates a verifier from a PEM public key ("PUBLIC KEY", SPKI), as served at /v1/public-key.pem.</summary>
    public static TokenVerifier FromPem(string pem, TimeProvider? timeProvider = null)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(pem);
        return new TokenVerifier(key, timeProvider);
    }

    /// <summary>Parses and verifies a token. Never throws for bad input.</summary>
    public TokenVerifyResult Verify(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 8192)
        {
            return TokenVerifyResult.Fail("missing token");
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return TokenVerifyResult.Fail("malformed token");
        }

        if (!Base64Url.TryDecode(parts[0], out var header) || !Base64Url.TryDecode(parts[1], out var payload) || !Base64Url.TryDecode(parts[2], out var signature))
        {
            return TokenVerifyResult.Fail("malformed token");
        }

        try
        {
            using (var h = JsonDocument.Parse(header))
            {
                if (h.RootElement.ValueKind != JsonValueKind.Object || !h.RootElement.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != "ES256")
                {
                    return TokenVerifyResult.Fail("unsupported alg");
                }
            }

            if (signature.Length != 64)
            {
                return TokenVerifyResult.Fail("bad signature");
            }

            var signed = Encoding.ASCII.GetBytes(string.Concat(parts[0], ".", parts[1]));
            if (!_publicKey.VerifyData(signed, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                return TokenVerifyResult.Fail("bad signature");
            }

            using var p = JsonDocument.Parse(payload);
            var root = p.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return TokenVerifyResult.Fail("malformed claims");
            }

            string? sub = GetString(root, "sub"), site = GetString(root, "site"), role = GetString(root, "role");
            if (!root.TryGetProperty("exp", out var expElement) || !expElement.TryGetInt64(out var exp))
            {
                return TokenVerifyResult.Fail("missing exp");
            }

            if (string.IsNullOrEmpty(sub) || site is null)
            {
                return TokenVerifyResult.Fail("missing sub or site");
            }

            if (!TokenClaims.IsKnownRole(role))
            {
                return TokenVerifyResult.Fail("wrong role");
            }

            var expiresAt = DateTimeOffset.FromUnixTimeSeconds(exp);
            if (_time.GetUtcNow() > expiresAt + _clockSkew)
            {
                return TokenVerifyResult.Fail("expired");
            }

            return new TokenVerifyResult(new TokenClaims(sub, site, role!, expiresAt), null);
        }
        catch (JsonException)
        {
            return TokenVerifyResult.Fail("malformed token");
        }
        catch (ArgumentOutOfRangeException)
        {
            return TokenVerifyResult.Fail("malformed claims");
        }
    }

    private static string? GetString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
}
