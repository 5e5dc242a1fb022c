using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Config;

/// <summary>A [Peer] section.</summary>
/// <param name="PublicKey">The peer's public key.</param>
/// <param name="AllowedIps">Addresses routed to and accepted from this peer.</param>
/// <param name="Endpoint">"host:port" or "[v6]:port", or null for a peer that connects to us.</param>
/// <param name="PresharedKey">Optional extra symmetric key.</param>
/// <param name="PersistentKeepalive">Seconds between keepalives (1-65535), or null for off.</param>
public sealed record PeerConfig(WireGuardKey PublicKey, IReadOnlyList<IpCidr> AllowedIps, string? Endpoint = null, WireGuardKey? PresharedKey = null, int? PersistentKeepalive = null)
{
    /// <summary>Structural equality.</summary>
    public bool SameAs(PeerConfig other) =>
        PublicKey.Equals(other.PublicKey) && AllowedIps.SequenceEqual(other.AllowedIps) && Endpoint == other.Endpoint
        && Equals(PresharedKey, other.PresharedKey) && PersistentKeepalive == other.PersistentKeepalive;
}
