namespace Relay.Tunnel.Server;

/// <summary>What the core sees of one relay: its links and streams.</summary>
/// <param name="RelayId">The relay id from its hello.</param>
/// <param name="Region">The relay's region.</param>
/// <param name="Links">Links open from it.</param>
/// <param name="Streams">Streams it has (attached or waiting to re-attach).</param>
/// <param name="RttMs">Mean link round trip in milliseconds, if measured.</param>
public sealed record RelayLinkInfo(string RelayId, string Region, int Links, int Streams, double? RttMs);
