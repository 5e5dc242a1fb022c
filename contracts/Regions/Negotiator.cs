using System.Net;
using Relay.Contracts.Control;

namespace Relay.Contracts.Regions;

/// <summary>
/// The negotiate answer, computed the same way by core-sim (from its fleet) and by a gateway (from the core's fleet
/// view): the caller's region (asked for, else the caller's address in the regions' subnets, else the server's own
/// region or the first region), then the healthy and degraded relays with a URL, best first: that region's by weight
/// (highest first), then each fallback region's in order, then any other. When none anywhere is healthy or degraded,
/// the sick ones in the same order (fail open, as the DNS records do).
/// </summary>
public static class Negotiator
{
    /// <summary>Largest region name taken from a query.</summary>
    public const int MaxRegionLength = 64;

    /// <summary>
    /// The answer (token null). Returns false with <paramref name="error"/> when <paramref name="requestedRegion"/> is not
    /// a region the map knows (or too long).
    /// </summary>
    /// <param name="relays">Every relay the server knows, any state.</param>
    /// <param name="map">The regions' routing; null when there is no regions file (no address mapping).</param>
    /// <param name="caller">The caller's address (remote address, or X-Forwarded-For from a trusted proxy).</param>
    /// <param name="requestedRegion">The <c>?region=</c> of the request, if any.</param>
    /// <param name="homeRegion">The server's own region (a gateway's); null for the core.</param>
    public static bool TryAnswer(IEnumerable<FleetRelay> relays, RegionMap? map, IPAddress? caller, string? requestedRegion, string? homeRegion, out NegotiateResponse answer, out string? error)
    {
        answer = null!;
        error = null;
        string? region;
        string reason;
        if (!string.IsNullOrEmpty(requestedRegion))
        {
            if (requestedRegion.Length > MaxRegionLength || (map is not null && !map.Contains(requestedRegion)))
            {
                error = map is null ? "region: too long" : $"unknown region '{Shorten(requestedRegion)}'; known: {string.Join(", ", map.Names)}";
                return false;
            }

            region = requestedRegion;
            reason = $"region {region} was asked for";
        }
        else if (map is not null && caller is not null && map.TryFind(caller, out string found, out string subnet))
        {
            region = found;
            reason = $"address {Normal(caller)} is in {found} ({subnet})";
        }
        else if (map is not null)
        {
            bool home = homeRegion is not null && map.Contains(homeRegion);
            region = home ? homeRegion : map.Names.First();
            reason = $"address {(caller is null ? "unknown" : Normal(caller).ToString())} is in no region's subnets: {region}, {(home ? "this relay's region" : "the first region")}";
        }
        else
        {
            region = string.IsNullOrEmpty(homeRegion) ? null : homeRegion;
            reason = region is null ? "no regions file: every connected relay by weight" : $"no regions file: this relay's region {region} first";
        }

        var withUrl = relays.Where(r => !string.IsNullOrEmpty(r.Url)).ToList();
        var usable = withUrl.Where(r => r.State is RelayStatus.Healthy or RelayStatus.Degraded).ToList();
        bool sickOnly = false;
        if (usable.Count == 0)
        {
            // Fail open, as DNS does (ifurlup answers every address when none is up): when no relay anywhere is healthy
            // or degraded (a slow core makes every backhaul sick at once), the sick ones rather than none. A sick relay
            // still takes sessions; a draining one is moving its own away, an unknown or unreachable one has no link.
            usable = withUrl.Where(r => r.State == RelayStatus.Sick).ToList();
            sickOnly = usable.Count > 0;
        }

        usable = usable.OrderByDescending(r => r.Weight).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
        // One pass per list, not per candidate region or per relay placed: negotiate is open to anyone, per request.
        var order = new List<FleetRelay>(usable.Count);
        var regions = region is null ? [] : map?.Candidates(region) ?? [region];
        var byRegion = usable.ToLookup(r => r.Region, StringComparer.Ordinal);
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (string candidate in regions)
        {
            if (placed.Add(candidate))
            {
                order.AddRange(byRegion[candidate]);
            }
        }

        order.AddRange(usable.Where(r => r.Region is null || !placed.Contains(r.Region)));
        if (sickOnly)
        {
            reason += "; no healthy relay anywhere, so the sick ones";
        }
        else if (region is not null && order.Count > 0 && !string.Equals(order[0].Region, region, StringComparison.Ordinal))
        {
            reason += $"; no healthy relay in {region}, so {order[0].Region} next";
        }
        else if (order.Count == 0)
        {
            reason += "; no healthy relay anywhere";
        }

        answer = new NegotiateResponse(
            region ?? order.FirstOrDefault()?.Region,
            reason,
            order.ConvertAll(r => new NegotiateRelay(r.Id, r.Region, r.Url!, r.Weight, r.State, r.Sessions)));
        return true;
    }

    private static IPAddress Normal(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    private static string Shorten(string text) => text.Length <= MaxRegionLength ? text : text[..MaxRegionLength] + "…";
}
