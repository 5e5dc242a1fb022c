namespace Relay.Client;

/// <summary>Where negotiate sent the client (issue 17): what a widget shows as "on sg-1 (sg): address 10.71.1.5 is in sg".</summary>
/// <param name="Region">The region negotiate picked for the client.</param>
/// <param name="RelayId">The relay the client is connected to.</param>
/// <param name="RelayRegion">That relay's region (another one than <paramref name="Region"/> after a failover across regions).</param>
/// <param name="Reason">Negotiate's reason for the region.</param>
/// <param name="Url">The relay's websocket URL.</param>
public sealed record RelaySteering(string? Region, string RelayId, string RelayRegion, string Reason, Uri Url);
