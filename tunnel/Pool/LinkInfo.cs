namespace Relay.Tunnel.Pool;

/// <summary>A snapshot of one link for status pages.</summary>
/// <param name="Endpoint">The core endpoint (dialing side) or relay id (accepting side).</param>
/// <param name="Slot">Slot index within the endpoint.</param>
/// <param name="Up">True when the link is open.</param>
/// <param name="Streams">Streams placed on it.</param>
/// <param name="RttMs">Last ping round trip in milliseconds, if measured.</param>
public sealed record LinkInfo(string Endpoint, int Slot, bool Up, int Streams, double? RttMs);
