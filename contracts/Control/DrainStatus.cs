namespace Relay.Contracts.Control;

/// <summary>A relay's drain progress, in its <see cref="RelayHealthReport"/> and its <c>/status</c>.</summary>
/// <param name="Draining">True while the relay drains.</param>
/// <param name="Source">Who started the drain (operator, self, core-policy, SIGTERM), or null.</param>
/// <param name="Started">When the last drain started.</param>
/// <param name="Finished">When the last drain had moved every session.</param>
/// <param name="SessionsToMove">Sessions there were when the drain started.</param>
/// <param name="SessionsMoved">Sessions asked to move so far.</param>
/// <param name="SessionsLeft">Sessions still on the relay while it drains (0 otherwise).</param>
/// <param name="LastCoreCommand">The last order from the core and its outcome, or null.</param>
public sealed record DrainStatus(
    bool Draining,
    string? Source,
    DateTimeOffset? Started,
    DateTimeOffset? Finished,
    int SessionsToMove,
    int SessionsMoved,
    int SessionsLeft,
    string? LastCoreCommand);
