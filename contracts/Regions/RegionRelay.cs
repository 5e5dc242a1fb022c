namespace Relay.Contracts.Regions;

/// <summary>One relay (gateway) of a region.</summary>
/// <param name="Id">The relay's id, unique in the file; the gateway's <c>Gateway:Backhaul:RelayId</c>.</param>
/// <param name="Address">The IPv4 or IPv6 address DNS answers for this relay.</param>
/// <param name="Url">What clients connect to: a ws:// or wss:// URL.</param>
/// <param name="Readyz">The relay's readiness URL (http:// or https://): 200 when it takes new sessions.</param>
public sealed record RegionRelay(string Id, string Address, string Url, string Readyz);
