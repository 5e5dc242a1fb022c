namespace Relay.CoreSim.Fleet;

/// <summary>A relay a negotiate answer left out.</summary>
/// <param name="Id">The relay id.</param>
/// <param name="Region">Its region, when known.</param>
/// <param name="Why"><c>draining</c>, <c>sick</c>, <c>not connected</c>, <c>no health report yet</c> or <c>no URL</c>.</param>
internal sealed record LeftOutRelay(string Id, string? Region, string Why);
