using Relay.Contracts.Control;

namespace Relay.CoreSim.Fleet;

/// <summary>The latest health report a relay pushed over the backhaul.</summary>
/// <param name="Report">The report as the relay sent it (signals and drain progress included).</param>
/// <param name="ReceivedAt">When it arrived.</param>
internal sealed record RelayReport(RelayHealthReport Report, DateTimeOffset ReceivedAt);
