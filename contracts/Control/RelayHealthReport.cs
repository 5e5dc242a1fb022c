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
    string? Url = null)
{
    /// <summary>The longest relay id a report may carry (the core's keyring takes ids of 1–64 characters).</summary>
    public const int MaxRelayIdLength = 64;

    /// <summary>The longest <see cref="Url"/>.</summary>
    public const int MaxUrlLength = 512;

    /// <summary>The most <see cref="Reasons"/>, each at most <see cref="MaxTextLength"/> characters.</summary>
    public const int MaxReasons = 32;

    /// <summary>The most <see cref="Signals"/>.</summary>
    public const int MaxSignals = 64;

    /// <summary>The longest reason.</summary>
    public const int MaxTextLength = 1024;

    /// <summary>
    /// Why the core cannot take this report, or null. A report's relay id, region, URL, sessions and weight go into the
    /// fleet view every relay receives: one relay's oversized or absurd report must not reach the others.
    /// </summary>
    public string? Problem() =>
        RelayId is not { Length: > 0 and <= MaxRelayIdLength } ? $"relayId: 1-{MaxRelayIdLength} characters"
        : Region is not { Length: <= ControlCodec.MaxRegionLength } ? $"region: at most {ControlCodec.MaxRegionLength} characters"
        : Url is { Length: > MaxUrlLength } ? $"url: at most {MaxUrlLength} characters"
        : Reasons is null || Reasons.Count > MaxReasons || Reasons.Any(r => r is null || r.Length > MaxTextLength) ? $"reasons: at most {MaxReasons} of {MaxTextLength} characters"
        : Signals is null || Signals.Count > MaxSignals ? $"signals: at most {MaxSignals}"
        : Sessions is < 0 or > int.MaxValue ? "sessions: 0 to 2^31 - 1"
        : Weight is < 0 or > 100 ? "weight: 0-100 (percent)"
        : null;
}
