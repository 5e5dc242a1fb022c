using Relay.Contracts.Control;

namespace Relay.CoreSim.Fleet;

/// <summary>A relay in a <see cref="RegionView"/>.</summary>
/// <param name="Id">The relay id.</param>
/// <param name="State">Its state (<c>unreachable</c>: no backhaul link, also for a relay of the regions file that never connected).</param>
/// <param name="Sessions">Sessions on it.</param>
internal sealed record RegionRelayView(string Id, RelayStatus State, long Sessions);
