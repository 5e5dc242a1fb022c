using Relay.Contracts.Control;

namespace Relay.Contracts.Regions;

/// <summary>One candidate relay in a negotiate answer.</summary>
/// <param name="Id">The relay id.</param>
/// <param name="Region">Its region.</param>
/// <param name="Url">The websocket URL to connect to.</param>
/// <param name="Weight">Its weight in percent.</param>
/// <param name="State">healthy or degraded (negotiate lists no other).</param>
/// <param name="Sessions">Sessions on it.</param>
public sealed record NegotiateRelay(string Id, string Region, string Url, int Weight, RelayStatus State, long Sessions);
