namespace Relay.Gateway.Security;

/// <summary>Why <see cref="UnderAttackGate.Check"/> refused an admission.</summary>
/// <param name="Status">The HTTP status to answer with (429).</param>
/// <param name="Reason">The metric reason: challenge-required, challenge-invalid, challenge-expired, challenge-unsolved, challenge-replayed, rate-address, rate-prefix.</param>
/// <param name="Message">The response body.</param>
internal readonly record struct GateRefusal(int Status, string Reason, string Message);
