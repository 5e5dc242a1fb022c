namespace Relay.Contracts.Regions;

/// <summary>One region of the regions file.</summary>
/// <param name="Name">The region's name, e.g. <c>sg</c>.</param>
/// <param name="Subnets">Client subnets (CIDR) whose users belong to this region.</param>
/// <param name="Fallback">The next-nearest regions, in order.</param>
/// <param name="Relays">The region's relays.</param>
public sealed record Region(string Name, IReadOnlyList<string> Subnets, IReadOnlyList<string> Fallback, IReadOnlyList<RegionRelay> Relays);
