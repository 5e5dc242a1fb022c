namespace Relay.Gateway.Health;

/// <summary>How well one signal (or the whole relay) is doing. Ordered: a larger value is worse.</summary>
public enum HealthLevel
{
    /// <summary>All good.</summary>
    Healthy = 0,
    /// <summary>Working, but take fewer new sessions (agent weight falls).</summary>
    Degraded = 1,
    /// <summary>Should not take sessions; steering takes it out; a long sickness drains it.</summary>
    Sick = 2,
}
