namespace Relay.Contracts.Control;

/// <summary>
/// The fleet as the core sees it, sent to every relay each <c>CoreSim:FleetBroadcastInterval</c> (command
/// <c>fleet</c>), so a relay never drains itself out as the last healthy one.
/// </summary>
/// <param name="Relays">Relay id → state.</param>
public sealed record FleetView(IReadOnlyDictionary<string, RelayStatus> Relays) : CoreOrder;
