using System.Net;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;

namespace Relay.CoreSim.Fleet;

/// <summary>
/// The fleet by region (issue 17), for GET /fleet and the rebalance: each region of the regions file with its relays (a
/// connected relay the file does not list joins the region it reports), or without a file the regions the relays report;
/// and where each region's users are, from the client address of every relayed session the core holds.
/// </summary>
internal static class RegionsView
{
    /// <summary>The regions, in the file's order (then the reported regions the file lacks, by name).</summary>
    public static IReadOnlyList<RegionView> Describe(IReadOnlyList<FleetMember> members, RegionsFile? file, IEnumerable<(string RelayId, IPAddress? Client)> clients)
    {
        var byId = members.ToDictionary(m => m.Id, StringComparer.Ordinal);
        var away = file is null ? null : Away(members, file, clients);
        var regions = new List<RegionView>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in file?.Regions ?? [])
        {
            var relays = region.Relays.Select(r => byId.TryGetValue(r.Id, out var m) ? View(m) : new RegionRelayView(r.Id, RelayStatus.Unreachable, 0)).ToList();
            placed.UnionWith(region.Relays.Select(r => r.Id));
            var extra = members.Where(m => !placed.Contains(m.Id) && file!.FindRelay(m.Id) is null && string.Equals(m.Region, region.Name, StringComparison.Ordinal)).OrderBy(m => m.Id, StringComparer.Ordinal).ToList();
            placed.UnionWith(extra.Select(m => m.Id));
            relays.AddRange(extra.Select(View));
            var awayHere = away!.GetValueOrDefault(region.Name) ?? [];
            regions.Add(Region(region.Name, "regions file", region.Fallback, region.Subnets, relays, awayHere.Values.Sum(), awayHere));
        }

        foreach (var group in members.Where(m => !placed.Contains(m.Id)).GroupBy(m => m.Region.Length > 0 ? m.Region : "unknown", StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            regions.Add(Region(group.Key, "reports", [], [], [.. group.OrderBy(m => m.Id, StringComparer.Ordinal).Select(View)], file is null ? null : 0, file is null ? null : new Dictionary<string, int>()));
        }

        return regions;
    }

    /// <summary>
    /// Users away from home: home region (the client address in the file's subnets) → relay outside that region → sessions.
    /// A relay's region is the file's, else the one it reports.
    /// </summary>
    public static Dictionary<string, Dictionary<string, int>> Away(IReadOnlyList<FleetMember> members, RegionsFile file, IEnumerable<(string RelayId, IPAddress? Client)> clients)
    {
        var reported = members.ToDictionary(m => m.Id, m => m.Region, StringComparer.Ordinal);
        var map = file.Map;
        var away = new Dictionary<string, Dictionary<string, int>>(StringComparer.Ordinal);
        foreach (var (relayId, client) in clients)
        {
            if (client is null || !map.TryFind(client, out string home, out _))
            {
                continue;
            }

            string? relayRegion = file.FindRelay(relayId)?.Region.Name ?? reported.GetValueOrDefault(relayId);
            if (string.Equals(relayRegion, home, StringComparison.Ordinal))
            {
                continue;
            }

            var relays = away.TryGetValue(home, out var found) ? found : away[home] = new Dictionary<string, int>(StringComparer.Ordinal);
            relays[relayId] = relays.GetValueOrDefault(relayId) + 1;
        }

        return away;
    }

    private static RegionRelayView View(FleetMember member) => new(member.Id, member.State, member.Sessions);

    private static RegionView Region(string name, string source, IReadOnlyList<string> fallback, IReadOnlyList<string> subnets, IReadOnlyList<RegionRelayView> relays, int? usersAway, IReadOnlyDictionary<string, int>? away) => new(
        name,
        source,
        fallback,
        subnets,
        relays,
        relays.Sum(r => r.Sessions),
        relays.Any(r => r.State is RelayStatus.Healthy or RelayStatus.Degraded),
        usersAway,
        away);
}
