using Relay.Contracts.Control;

namespace Relay.CoreSim.Fleet;

/// <summary>A relay the core knows, for the regions section of GET /fleet.</summary>
/// <param name="Id">The relay id.</param>
/// <param name="Region">The region it reports (its link's hello, else its health report); empty when unknown.</param>
/// <param name="State">Its state as the core sees it.</param>
/// <param name="Sessions">Sessions on it by its latest report (0 when it has no link).</param>
internal sealed record FleetMember(string Id, string Region, RelayStatus State, long Sessions);
