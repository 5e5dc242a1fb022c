namespace Relay.CoreSim.Faults;

/// <summary>What GET /v1/faults returns.</summary>
internal sealed record ActiveFaults(IReadOnlyList<LatencyFault> Latency, int SlowMs, IReadOnlyList<string> StalledSessions, bool RefuseStreams, IReadOnlyList<string> BlockedRelays, IReadOnlyDictionary<string, int> LinkLatencyMs, bool HoldHellos);
