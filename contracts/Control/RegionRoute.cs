namespace Relay.Contracts.Control;

/// <summary>A region's routing alone (no relays): what the core sends relays in the fleet view so they answer negotiate as it does.</summary>
/// <param name="Name">The region.</param>
/// <param name="Subnets">Client subnets (CIDR) that belong to it.</param>
/// <param name="Fallback">The next-nearest regions, in order.</param>
public sealed record RegionRoute(string Name, IReadOnlyList<string> Subnets, IReadOnlyList<string> Fallback);
