using System.Text.Json.Serialization;

namespace Relay.Contracts.Control;

/// <summary>
/// The fleet as the core sees it, sent to every relay each <c>CoreSim:FleetBroadcastInterval</c> (command
/// <c>fleet</c>), so a relay never drains itself out as the last healthy one, and (issue 17) so a relay answers
/// <c>GET /v1/negotiate</c> as the core does.
/// </summary>
/// <param name="Relays">Relay id → state.</param>
/// <param name="Details">Each relay with a fresh report: region, URL, weight, sessions, state. Optional (issue 17): absent from a core that predates it, and not written when null, so an older relay decodes the view.</param>
/// <param name="Regions">The regions' routing (subnets, fallback) from the core's regions file; absent when it has none.</param>
public sealed record FleetView(
    IReadOnlyDictionary<string, RelayStatus> Relays,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<FleetRelay>? Details = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<RegionRoute>? Regions = null) : CoreOrder;
