namespace Relay.Gateway.Health;

/// <summary>The relay's health at one evaluation.</summary>
/// <param name="State">The folded state.</param>
/// <param name="Reasons">Why, when not healthy.</param>
/// <param name="Weight">HAProxy agent weight in percent (falls as load rises).</param>
/// <param name="Signals">Each signal: its effective level, its latest reading.</param>
/// <param name="Since">When the state last changed.</param>
public sealed record HealthSnapshot(RelayState State, IReadOnlyList<string> Reasons, int Weight, IReadOnlyDictionary<string, SignalStatus> Signals, DateTimeOffset Since)
{
    /// <summary>Lower-case state name for JSON and the agent.</summary>
    public string StateName => State.ToString().ToLowerInvariant();

    /// <summary>Ready for new sessions: healthy or degraded, and not draining.</summary>
    public bool Ready => State is RelayState.Healthy or RelayState.Degraded;

    /// <summary>
    /// The HAProxy agent-check answer: "up ready N%", "drain" or "down#reason". "ready" is what
    /// takes a server out of HAProxy's DRAIN mode again after an undrain; "up" alone does not.
    /// </summary>
    public string AgentLine => State switch
    {
        RelayState.Draining => "drain",
        RelayState.Sick => "down#" + (Reasons.Count > 0 ? Reasons[0] : "sick").Replace('\n', ' '),
        _ => $"up ready {Weight}%",
    };
}

/// <summary>One signal as the monitor holds it.</summary>
/// <param name="Level">The level after hysteresis.</param>
/// <param name="Reason">The reason that made it worse than healthy.</param>
/// <param name="Reading">The latest raw reading.</param>
public sealed record SignalStatus(HealthLevel Level, string? Reason, HealthReading Reading);
