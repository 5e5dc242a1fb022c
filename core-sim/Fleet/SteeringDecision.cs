namespace Relay.CoreSim.Fleet;

/// <summary>One negotiate answer core-sim gave (issue 17), as GET /fleet's <c>steering</c> shows it.</summary>
/// <param name="At">When.</param>
/// <param name="From">The caller's network, never the whole address: its /24 (IPv4) or /48 (IPv6); null when unknown.</param>
/// <param name="Region">The region picked for the caller.</param>
/// <param name="How">How: <c>address</c> (its subnet is in <see cref="Subnet"/>), <c>?region=</c>, <c>default</c> (no subnet matched: the first region) or <c>no regions file</c>.</param>
/// <param name="Subnet">The regions file's subnet that matched the caller, when <see cref="How"/> is <c>address</c>.</param>
/// <param name="ServedBy">The region of the first relay answered (another than <see cref="Region"/>: a fallback); null when none.</param>
/// <param name="Relays">The relay ids answered, best first (at most <see cref="SteeringLog.MaxListed"/>).</param>
/// <param name="LeftOut">Relays not answered, and why: draining, sick, not connected, no health report yet, no URL (at most <see cref="SteeringLog.MaxListed"/>).</param>
/// <param name="Token">True when the call renewed a token (POST).</param>
internal sealed record SteeringDecision(
    DateTimeOffset At,
    string? From,
    string? Region,
    string How,
    string? Subnet,
    string? ServedBy,
    IReadOnlyList<string> Relays,
    IReadOnlyList<LeftOutRelay> LeftOut,
    bool Token);
