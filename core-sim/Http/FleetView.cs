using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Configuration;
using Relay.CoreSim.Fleet;
using Relay.CoreSim.Sessions;

namespace Relay.CoreSim.Http;

/// <summary>
/// The fleet view, the document of <c>GET /fleet</c> and of each <c>GET /v1/fleet/stream</c> event, rendered as JSON.
/// A rendering walks every relay, every relayed session's client address (the regions' users away from home) and, in
/// cluster mode, asks the broker for every node's heartbeat: <see cref="FleetSnapshots"/> shares renderings among callers.
/// </summary>
internal sealed class FleetView(
    SessionRegistry registry,
    FleetRegistry fleet,
    FleetPolicy policy,
    FleetRegions regions,
    SteeringLog steering,
    IOptions<CoreSimOptions> options,
    IOptions<JsonOptions> json)
{
    private long _renders;

    /// <summary>Renderings so far (tests: how many requests one rendering served).</summary>
    public long Renders => Interlocked.Read(ref _renders);

    /// <summary>Renders the view now.</summary>
    public async Task<string> RenderAsync(CancellationToken ct)
    {
        Interlocked.Increment(ref _renders);
        var view = new
        {
            cluster = registry.Cluster is { } c ? new
            {
                broker = c.Broker,
                state = c.Healthy ? "healthy" : "unavailable",
                reason = c.Problem,
                pingMs = c.PingMs,
                nodes = await c.NodesAsync().WaitAsync(ct).ConfigureAwait(false), // every node's heartbeat: sessions, last seen, its /fleet
            } : null,
            node = options.Value.NodeId,
            relays = fleet.Describe(policy.StaleAfter),
            sessionsByRegion = fleet.SessionsByRegion(),
            regions = RegionsView.Describe(fleet.Members(policy.StaleAfter), regions.File, registry.RelayedClients()), // issue 17
            steering = steering.Recent(), // issue 17: the last negotiate decisions, newest first
            sessions = registry.SessionCount,
            detachedSessions = registry.DetachedCount,
            directConnections = registry.DirectConnections,
            relayedConnections = registry.RelayedConnections,
            rooms = registry.RoomCount,
        };
        return JsonSerializer.Serialize(view, json.Value.SerializerOptions);
    }
}
