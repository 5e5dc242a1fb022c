using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// One client, as every per-client limit counts it: an IPv4 address (an IPv4-mapped IPv6 address too) or the /64 of an
/// IPv6 address, the smallest block a host is given (RFC 6177; SLAAC needs it), so one host is one client however many
/// of its 2^64 source addresses it uses (the backhaul's <see cref="Relay.Tunnel.Server.SourceAddress"/>, which counts its
/// handshakes the same way). <see cref="ClientRate.Key"/> is the same partition as a number.
/// </summary>
internal static class ClientKey
{
    /// <summary>The address that stands for <paramref name="address"/>'s client: the IPv4 address, or the IPv6 /64 (low 64 bits zero).</summary>
    public static IPAddress Of(IPAddress address) => Relay.Tunnel.Server.SourceAddress.Of(address);
}
