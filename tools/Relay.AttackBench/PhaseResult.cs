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
    double? RelayJoinSeconds,
    CpuUse Cpu,
    (double PauseSeconds, long Gen2, long Gen1, long Gen0, double AllocatedMiB) GatewayGc)
{
    /// <summary>Legitimate messages lost: expected deliveries that never arrived in order (a sequence gap is a loss,
    /// whatever the load generator's own Lost says).</summary>
    public long Lost => Math.Max(Load.Lost, Load.Expected - Load.Received);
}

/// <summary>CPU seconds used by each process over a phase's measured window of <see cref="Seconds"/> (from the
/// sessions connected, with the flood's start, to the end of the legitimate load).</summary>
internal sealed record CpuUse(double Gateway, double Core, double Bench, double Flood, double Seconds)
{
    public CpuUse Subtract(CpuUse start, double seconds) =>
        new(Gateway - start.Gateway, Core - start.Core, Bench - start.Bench, Flood - start.Flood, seconds);
}
