using System.Text.Json;

namespace Relay.CoreSim.Fleet;

/// <summary>The latest health report a relay pushed over the backhaul.</summary>
/// <param name="State">healthy, degraded, sick or draining.</param>
/// <param name="Reasons">Why, when not healthy.</param>
/// <param name="Sessions">Sessions on the relay.</param>
/// <param name="Report">The whole report (signals and drain progress) as the relay sent it.</param>
/// <param name="ReceivedAt">When it arrived.</param>
internal sealed record RelayReport(string State, IReadOnlyList<string> Reasons, long Sessions, JsonElement Report, DateTimeOffset ReceivedAt);
