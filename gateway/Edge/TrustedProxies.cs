using System.Net;
using System.Net.Sockets;

namespace Relay.Gateway.Edge;

/// <summary>The parsed <see cref="GatewayOptions.TrustedProxies"/>: addresses and CIDRs.</summary>
internal sealed class TrustedProxies
{
    private TrustedProxies(IPNetwork[] networks) => Networks = networks;

    public IReadOnlyList<IPNetwork> Networks { get; }

    public bool IsEmpty => Networks.Count == 0;

    /// <summary>Parses the entries; an entry that is neither an address nor a CIDR is named in <paramref name="error"/>.</summary>
    public static TrustedProxies? TryParse(IEnumerable<string> entries, out string? error)
    {
        var networks = new List<IPNetwork>();
        foreach (string entry in entries)
        {
            if (TryParseOne(entry.Trim(), out var network))
            {
                networks.Add(network);
                continue;
            }

            error = $"Gateway:TrustedProxies entry '{entry}' is not an IP address or CIDR (e.g. 10.0.0.5 or 10.0.0.0/8).";
            return null;
        }

        error = null;
        return new TrustedProxies([.. networks]);
    }

    public bool Contains(IPAddress address)
    {
        if (Networks.Count == 0)
        {
            return false;
        }

        var normal = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var network in Networks)
        {
            if (network.Contains(normal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryParseOne(string entry, out IPNetwork network)
    {
        if (entry.Contains('/'))
        {
            return IPNetwork.TryParse(entry, out network);
        }

        if (IPAddress.TryParse(entry, out var address))
        {
            network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        network = default;
        return false;
    }
}
