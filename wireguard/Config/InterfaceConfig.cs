using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Config;

/// <summary>The [Interface] section: this end's private key, its tunnel addresses, UDP port and MTU.</summary>
/// <param name="PrivateKey">This end's private key (never logged).</param>
/// <param name="Addresses">Tunnel addresses with prefix (wg-quick's Address); assigned with `ip address add` in managed mode.</param>
/// <param name="ListenPort">UDP port, or null for a random one.</param>
/// <param name="Mtu">Interface MTU, or null for the default (1420).</param>
public sealed record InterfaceConfig(WireGuardKey PrivateKey, IReadOnlyList<IpCidr> Addresses, int? ListenPort = null, int? Mtu = null)
{
    /// <summary>Structural equality.</summary>
    public bool SameAs(InterfaceConfig other) =>
        PrivateKey.Equals(other.PrivateKey) && Addresses.SequenceEqual(other.Addresses) && ListenPort == other.ListenPort && Mtu == other.Mtu;
}
