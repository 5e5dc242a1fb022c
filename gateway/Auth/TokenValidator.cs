using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Relay.Gateway.Auth;

/// <summary>
/// Verifies the core's ES256 JWTs with its public key: signature (IEEE P1363 r||s), expiry, role.
/// Relays hold only the public key, so a compromised relay cannot mint tokens.
/// </summary>
public sealed class TokenValidator : IDisposable
{
    private const int MaxTokenLength = 4096;
    private readonly ECDsa _key;
    private readonly TimeProvider _time;

    public TokenValidator(string publicKeyPem, TimeProvider? time = null)
    {
        _key = ECDsa.Create();
        _key.ImportFromPem(publicKeyPem);
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Validates a token. On success returns its claims (sub, site, role); on failure null and the reason.</summary>
    public IReadOnlyDictionary<string, string>? Validate(string? token, out string error)
    {
        error = string.Empty;
        if (string.IsNullOrEmpty(token))
        {
            error = "missing access_token";
            return null;
        }

        if (token.Length > MaxTokenLength)
        {
            error = "token too long";
            return null;
        }

        string[] parts = token.Split('.');
        if (parts.Length != 3)
        {
            error = "malformed token";
            return null;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.GetString() != "ES256")
            {
                error = "token algorithm must be ES256";
                return null;
            }

            byte[] signature = Base64Url(parts[2]);
            byte[] signed = Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]);
            if (signature.Length != 64 || !_key.VerifyData(signed, signature, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation))
            {
                error = "bad token signature";
                return null;
            }

            using var payload = JsonDocument.Parse(Base64Url(parts[1]));
            var root = payload.RootElement;
            if (!root.TryGetProperty("exp", out var exp) || !exp.TryGetInt64(out long expiry) || expiry <= _time.GetUtcNow().ToUnixTimeSeconds())
            {
                error = "token expired";
                return null;
            }

            var claims = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in (string[])["sub", "site", "role"])
            {
                if (!root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(value.GetString()))
                {
                    error = $"token has no '{name}' claim";
                    return null;
                }

                claims[name] = value.GetString()!;
            }

            if (claims["role"] is not ("visitor" or "operator"))
            {
                error = "token role must be visitor or operator";
                return null;
            }

            return claims;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or CryptographicException)
        {
            error = "malformed token";
            return null;
        }
    }

    public void Dispose() => _key.Dispose();

    private static byte[] Base64Url(string s)
    {
        string b = s.Replace('-', '+').Replace('_', '/');
        b = b.PadRight(b.Length + ((4 - (b.Length % 4)) % 4), '=');
        return Convert.FromBase64String(b);
    }
}
