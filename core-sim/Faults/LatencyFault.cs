namespace Relay.CoreSim.Faults;

/// <summary>Added processing delay for one relay's streams (or every relay's when <paramref name="RelayId"/> is null).</summary>
internal sealed record LatencyFault(string? RelayId, int Ms, int JitterMs);
