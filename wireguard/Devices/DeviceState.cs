using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Devices;

/// <summary>What a WireGuard device reports: its public key and port, and per peer the endpoint, handshake and counters.</summary>
/// <param name="Interface">Interface name.</param>
/// <param name="PublicKey">The device's public key, or null when it has no private key yet.</param>
/// <param name="ListenPort">The UDP port it listens on.</param>
/// <param name="Peers">Its peers.</param>
public sealed record DeviceState(string Interface, WireGuardKey? PublicKey, int ListenPort, IReadOnlyList<PeerState> Peers);

/// <summary>One peer as the device reports it.</summary>
/// <param name="PublicKey">The peer's public key.</param>
/// <param name="Endpoint">The peer's current endpoint ("ip:port"), or null when unknown.</param>
/// <param name="LastHandshake">Time of the latest completed handshake, or null when none yet.</param>
/// <param name="RxBytes">Bytes received from the peer.</param>
/// <param name="TxBytes">Bytes sent to the peer.</param>
/// <param name="PersistentKeepalive">Keepalive interval in seconds, 0 when off.</param>
/// <param name="AllowedIps">The peer's allowed IPs as "address/prefix".</param>
public sealed record PeerState(WireGuardKey PublicKey, string? Endpoint, DateTimeOffset? LastHandshake, long RxBytes, long TxBytes, int PersistentKeepalive, IReadOnlyList<string> AllowedIps);
