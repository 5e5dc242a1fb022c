namespace Relay.Gateway.Health;

/// <summary>One reading of one signal.</summary>
/// <param name="Level">The signal's verdict.</param>
/// <param name="Reason">Why, when not healthy (e.g. "backhaul lost: no link to the core is up").</param>
/// <param name="Values">The measured values, shown in /status and the health report.</param>
public sealed record HealthReading(HealthLevel Level, string? Reason, IReadOnlyDictionary<string, object?> Values)
{
    /// <summary>A healthy reading with values.</summary>
    public static HealthReading Healthy(IReadOnlyDictionary<string, object?> values) => new(HealthLevel.Healthy, null, values);
}
