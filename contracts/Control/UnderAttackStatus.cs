namespace Relay.Contracts.Control;

/// <summary>A relay's Under Attack mode, in its <see cref="RelayHealthReport"/> and its <c>/status</c>.</summary>
/// <param name="On">True while new sessions must solve a proof-of-work challenge.</param>
/// <param name="Source">What switched it last: <c>operator</c> (admin API), <c>core</c> (an order), <c>auto</c> (the connection rates).</param>
/// <param name="Trigger">Why, e.g. "refused connections 640/s ≥ 200/s"; null before the first switch.</param>
/// <param name="Since">When it was last switched; null before the first switch.</param>
/// <param name="Difficulty">Leading zero bits a solution needs.</param>
/// <param name="Refused">Admissions refused by this mode and the connection-rate limits, by reason, since start.</param>
public sealed record UnderAttackStatus(
    bool On,
    string? Source,
    string? Trigger,
    DateTimeOffset? Since,
    int Difficulty,
    IReadOnlyDictionary<string, long> Refused);
