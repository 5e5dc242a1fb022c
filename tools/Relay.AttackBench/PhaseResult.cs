using Relay.LoadGen;

namespace Relay.AttackBench;

/// <summary>One phase: the legitimate load's report, what the monitor saw, and (with a flood) what the flood met.</summary>
internal sealed record PhaseResult(
    string Name,
    LoadReport Load,
    Monitor Watch,
    IReadOnlyList<FloodStats> Flood,
    double FloodSeconds,
    NewSessionProbe.Result? NewSessions,
    double? RelayJoinSeconds)
{
    /// <summary>Legitimate messages lost: expected deliveries that never arrived in order (a sequence gap is a loss,
    /// whatever the load generator's own Lost says).</summary>
    public long Lost => Math.Max(Load.Lost, Load.Expected - Load.Received);
}
