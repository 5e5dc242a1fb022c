using System.Net.Sockets;
using System.Net;
using Relay.Contracts.Control;

namespace Relay.Contracts.Regions;

/// <summary>
/// The regions' routing: a client address → its region by the regions' subnets (the longest prefix wins), and a
/// region → the regions to offer its users, best first (itself, its fallback regions in order, then every other
/// region in file order). Immutable; built from a <see cref="RegionsFile"/> or from the routes in a fleet view.
/// Subnets that do not parse and fallback names that name no region are skipped (a regions file is validated before).
/// </summary>
public sealed class RegionMap
{
    private readonly (IPNetwork Network, string Subnet, string Region)[] _subnets;
    private readonly Dictionary<string, IReadOnlyList<string>> _candidates = new(StringComparer.Ordinal);

    /// <summary>Builds the map from the routes, in order.</summary>
    public RegionMap(IEnumerable<RegionRoute> routes)
    {
        Routes = routes.ToArray();
        var subnets = new List<(IPNetwork, string, string)>();
        var names = Routes.Select(r => r.Name).Distinct(StringComparer.Ordinal).ToArray();
        foreach (var route in Routes)
        {
            foreach (string subnet in route.Subnets ?? [])
            {
                if (TryParseCidr(subnet, out var network))
                {
                    subnets.Add((network, subnet, route.Name));
                }
            }

            var order = new List<string> { route.Name };
            order.AddRange((route.Fallback ?? []).Where(f => names.Contains(f, StringComparer.Ordinal) && !order.Contains(f, StringComparer.Ordinal)));
            order.AddRange(names.Where(n => !order.Contains(n, StringComparer.Ordinal)));
            _candidates.TryAdd(route.Name, order);
        }

        _subnets = [.. subnets.OrderByDescending(s => s.Item1.PrefixLength)];
    }

    /// <summary>The routes the map was built from.</summary>
    public IReadOnlyList<RegionRoute> Routes { get; }

    /// <summary>The region names, in order.</summary>
    public IEnumerable<string> Names => Routes.Select(r => r.Name);

    /// <summary>True when the map knows the region.</summary>
    public bool Contains(string region) => _candidates.ContainsKey(region);

    /// <summary>The region whose subnet holds <paramref name="address"/> (longest prefix), with that subnet as written; false when none does.</summary>
    public bool TryFind(IPAddress address, out string region, out string subnet)
    {
        var normal = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var (network, text, name) in _subnets)
        {
            if (network.BaseAddress.AddressFamily == normal.AddressFamily && network.Contains(normal))
            {
                region = name;
                subnet = text;
                return true;
            }
        }

        region = subnet = string.Empty;
        return false;
    }

    /// <summary>The regions to offer users of <paramref name="region"/>, best first: itself, its fallback, then the rest. Just the region when the map does not know it.</summary>
    public IReadOnlyList<string> Candidates(string region) => _candidates.TryGetValue(region, out var order) ? order : [region];

    /// <summary>Parses a CIDR such as <c>10.71.1.0/24</c> (a bare address is a /32 or /128). The base must have no host bits.</summary>
    public static bool TryParseCidr(string? text, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        if (!text.Contains('/'))
        {
            if (!IPAddress.TryParse(text, out var address))
            {
                return false;
            }

            network = new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return IPNetwork.TryParse(text, out network);
    }
}
