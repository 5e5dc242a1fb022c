namespace Relay.Contracts.Regions;

/// <summary>One relay of a region in the regions file.</summary>
/// <param name="Id">The relay's id (its <c>Gateway:Backhaul:RelayId</c>).</param>
/// <param name="Address">The address DNS answers for this relay.</param>
/// <param name="Url">What clients connect to (<c>ws://</c> or <c>wss://</c>).</param>
/// <param name="Readyz">The relay's readiness URL (the DNS health check); optional.</param>
public sealed record RegionRelay(string Id, string Address, string Url, string? Readyz = null);
