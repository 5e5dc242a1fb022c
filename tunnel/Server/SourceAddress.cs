using System.Net;

namespace Relay.Tunnel.Server;

/// <summary>
/// One source, as every per-address limit counts it (the backhaul's handshake slots here, the gateway's per-client
/// limits): an IPv4 address (an IPv4-mapped IPv6 address too) or the /64 of an IPv6 address, the smallest block a host
/// is given (RFC 6177; SLAAC needs it), so one host is one source however many of its 2^64 addresses it uses.
/// </summary>
public static class SourceAddress
{
    /// <summary>The address that stands for <paramref name="address"/>'s source: the IPv4 address, or the IPv6 /64 (low 64 bits zero, no scope).</summary>
    public static IPAddress Of(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        if (address.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return address;
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes);
    }
}
