using System.Net;

namespace Relay.Contracts.Regions;

/// <summary>The checks of a regions file: the first problem as one line, or null.</summary>
internal static class RegionsValidation
{
    private const int MaxRegions = 1000;
    private const int MaxRelays = 10_000;
    private const int MaxSubnets = 100_000;
    private const int MaxNameLength = 64;

    public static string? Check(RegionsFile file)
    {
        if (file.Regions is null || file.Regions.Count == 0) return "no regions.";
        if (file.Regions.Count > MaxRegions) return $"more than {MaxRegions} regions.";
        if (file.Ttl is < 0 or > 86_400) return $"ttl must be 0-86400 seconds; was {file.Ttl}.";
        if (file.Hostname is { } host && !IsFqdn(host)) return $"hostname '{host}' must be a fully qualified name with the trailing dot (e.g. chat.relay.test.).";
        if (file.Zone is { } zone && !IsFqdn(zone)) return $"zone '{zone}' must be a fully qualified name with the trailing dot (e.g. relay.test.).";

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in file.Regions)
        {
            if (region is null || string.IsNullOrWhiteSpace(region.Name) || region.Name.Length > MaxNameLength) return $"a region name must be 1-{MaxNameLength} characters; was '{region?.Name}'.";
            if (!names.Add(region.Name)) return $"duplicate region '{region.Name}'.";
        }

        var relayIds = new HashSet<string>(StringComparer.Ordinal);
        int subnets = 0;
        foreach (var region in file.Regions)
        {
            if (region.Subnets is null || region.Fallback is null || region.Relays is null) return $"region '{region.Name}': subnets, fallback and relays are required (may be empty).";
            foreach (string subnet in region.Subnets)
            {
                if (++subnets > MaxSubnets) return $"more than {MaxSubnets} subnets.";
                if (!RegionMap.TryParseCidr(subnet, out _)) return $"region '{region.Name}': bad CIDR '{subnet}' (e.g. 10.71.1.0/24).";
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string fallback in region.Fallback)
            {
                if (!names.Contains(fallback)) return $"region '{region.Name}': unknown fallback region '{fallback}'.";
                if (fallback == region.Name) return $"region '{region.Name}': falls back to itself.";
                if (!seen.Add(fallback)) return $"region '{region.Name}': fallback region '{fallback}' listed twice.";
            }

            foreach (var relay in region.Relays)
            {
                if (relay is null || string.IsNullOrWhiteSpace(relay.Id) || relay.Id.Length > MaxNameLength) return $"region '{region.Name}': a relay id must be 1-{MaxNameLength} characters; was '{relay?.Id}'.";
                if (relayIds.Count >= MaxRelays) return $"more than {MaxRelays} relays.";
                if (!relayIds.Add(relay.Id)) return $"duplicate relay id '{relay.Id}'.";
                if (!IPAddress.TryParse(relay.Address, out _)) return $"relay '{relay.Id}': address '{relay.Address}' is not an IP address.";
                if (!Uri.TryCreate(relay.Url, UriKind.Absolute, out var url) || url.Scheme is not ("ws" or "wss")) return $"relay '{relay.Id}': url '{relay.Url}' must be an absolute ws:// or wss:// URL.";
                if (relay.Readyz is { } readyz && (!Uri.TryCreate(readyz, UriKind.Absolute, out var r) || r.Scheme is not ("http" or "https"))) return $"relay '{relay.Id}': readyz '{readyz}' must be an absolute http:// or https:// URL.";
            }
        }

        return relayIds.Count == 0 ? "no relays (every region's relays list is empty)." : null;
    }

    private static bool IsFqdn(string name) => name.Length is > 1 and <= 254 && name.EndsWith('.') && Uri.CheckHostName(name.TrimEnd('.')) == UriHostNameType.Dns;
}
