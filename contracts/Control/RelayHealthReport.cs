namespace Relay.Contracts.Control;

/// <summary>
/// Relay → core, every <c>Gateway:Health:ReportInterval</c> over the backhaul (a HealthReport frame; encoded by
/// <see cref="ControlCodec"/>). Also what the gateway's <c>/status</c> shows as <c>health</c>.
/// </summary>
/// <param name="RelayId">The relay's id (<c>Gateway:Backhaul:RelayId</c>).</param>
/// <param name="Region">The relay's region.</param>
/// <param name="State">What steering should do with the relay: healthy, degraded, sick or draining.</param>
/// <param name="Health">The health alone (healthy, degraded or sick), whether or not the relay drains.</param>
/// <param name="Reasons">Why, when not healthy.</param>
/// <param name="Weight">HAProxy agent weight in percent (falls as load rises).</param>
/// <param name="Since">When the state last changed.</param>
/// <param name="Sessions">Sessions on the relay.</param>
/// <param name="Drain">Drain progress.</param>
/// <param name="Signals">Each health signal by name.</param>
/// <param name="UnderAttack">The relay's Under Attack mode (issue 16); null from a relay that predates it.</param>
/// <param name="Url">The websocket URL clients reach the relay at (<c>Gateway:Negotiate:PublicUrl</c>, issue 17), for negotiate when the core has no regions file; null when unset or from an older relay.</param>
public sealed record RelayHealthReport(
    string RelayId,
    string Region,
    RelayStatus State,
    RelayStatus Health,
    IReadOnlyList<string> Reasons,
    int Weight,
    DateTimeOffset Since,
    long Sessions,
    DrainStatus Drain,
    IReadOnlyDictionary<string, SignalReport> Signals,
    UnderAttackStatus? UnderAttack = null,
    string? Url = null);
