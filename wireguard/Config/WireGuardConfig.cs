namespace Relay.WireGuard.Config;

/// <summary>
/// A whole tunnel configuration: the [Interface] and its [Peer]s, as in a wg-quick .conf file.
/// Immutable; a new configuration replaces the old one whole.
/// </summary>
public sealed record WireGuardConfig(InterfaceConfig Interface, IReadOnlyList<PeerConfig> Peers)
{
    /// <summary>Structural equality (records compare lists by reference).</summary>
    public bool SameAs(WireGuardConfig other) =>
        Interface.SameAs(other.Interface) && Peers.Count == other.Peers.Count && Peers.Zip(other.Peers).All(p => p.First.SameAs(p.Second));
}
