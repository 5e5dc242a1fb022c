namespace Relay.Contracts.Regions;

/// <summary>One region of the regions file.</summary>
/// <param name="Name">Short name ("sg"): letters, digits, '-' and '_'.</param>
/// <param name="Subnets">The users' subnets (CIDR, IPv4 or IPv6) that belong to this region; the longest match wins.</param>
/// <param name="Fallback">The next-nearest regions, nearest first: where this region's users go when it has no ready relay.</param>
/// <param name="Relays">This region's relays.</param>
public sealed record Region(string Name, IReadOnlyList<string> Subnets, IReadOnlyList<string> Fallback, IReadOnlyList<RegionRelay> Relays);
