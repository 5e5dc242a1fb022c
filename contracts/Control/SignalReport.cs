namespace Relay.Contracts.Control;

/// <summary>One health signal in a <see cref="RelayHealthReport"/>.</summary>
/// <param name="Level">The signal's level after hysteresis: healthy, degraded or sick.</param>
/// <param name="Reason">Why, when not healthy.</param>
/// <param name="Values">
/// The measured values, for display. Numbers, strings, booleans, null and string → number maps
/// (<see cref="ControlCodec"/> encodes no other value type); decoded values are <c>JsonElement</c>s.
/// </param>
public sealed record SignalReport(RelayStatus Level, string? Reason, IReadOnlyDictionary<string, object?> Values);
