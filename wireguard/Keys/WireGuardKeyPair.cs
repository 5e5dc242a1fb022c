using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace Relay.WireGuard.Keys;

/// <summary>A Curve25519 (X25519) key pair, as WireGuard uses. Generated and derived with BouncyCastle.</summary>
public sealed class WireGuardKeyPair
{
    private WireGuardKeyPair(WireGuardKey privateKey, WireGuardKey publicKey)
    {
        PrivateKey = privateKey;
        PublicKey = publicKey;
    }

    /// <summary>The private key (secret; its ToString is redacted).</summary>
    public WireGuardKey PrivateKey { get; }

    /// <summary>The public key, derived from the private key.</summary>
    public WireGuardKey PublicKey { get; }

    /// <summary>Generates a new key pair from the system's secure random source.</summary>
    public static WireGuardKeyPair Generate()
    {
        var privateKey = new X25519PrivateKeyParameters(new SecureRandom());
        return FromPrivateKey(WireGuardKey.FromBytes(privateKey.GetEncoded()));
    }

    /// <summary>The pair for a private key: derives its public key (the clamping is X25519's, as in `wg pubkey`).</summary>
    public static WireGuardKeyPair FromPrivateKey(WireGuardKey privateKey)
    {
        var parameters = new X25519PrivateKeyParameters(privateKey.Bytes);
        return new WireGuardKeyPair(privateKey, WireGuardKey.FromBytes(parameters.GeneratePublicKey().GetEncoded()));
    }

    /// <summary>Derives the public key of a private key.</summary>
    public static WireGuardKey DerivePublicKey(WireGuardKey privateKey) => FromPrivateKey(privateKey).PublicKey;
}
