namespace Relay.CoreSim.Http;

/// <summary>Body of POST /v1/faults/latency.</summary>
internal sealed record LatencyRequest(string? RelayId, int Ms, int JitterMs);

/// <summary>Body of POST /v1/faults/drop-link and /drop-relay.</summary>
internal sealed record RelayRequest(string RelayId);

/// <summary>Body of POST /v1/faults/stall.</summary>
internal sealed record StallRequest(string Session);

/// <summary>Body of POST /v1/faults/refuse-streams.</summary>
internal sealed record OnRequest(bool On);

/// <summary>Body of POST /v1/faults/slow.</summary>
internal sealed record SlowRequest(int Ms);

/// <summary>Body of POST /v1/faults/kick: close that many connections with that code (default 1001).</summary>
internal sealed record KickRequest(int Count, int? Code);

/// <summary>Body of POST /v1/tokens.</summary>
internal sealed record TokenRequest(string? Sub, string? Site, string? Role, int? TtlSeconds);
internal sealed record LinkLatencyRequest(string RelayId, int Ms);
