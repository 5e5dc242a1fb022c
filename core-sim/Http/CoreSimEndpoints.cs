using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Relay.Contracts.Sessions;
using Relay.CoreSim.Backhaul;
using Relay.CoreSim.Configuration;
using Relay.CoreSim.Faults;
using Relay.CoreSim.Sessions;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Http;

/// <summary>Maps every HTTP endpoint of core-sim.</summary>
internal static class CoreSimEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.Map("/ws", WebSocketEndpoint.HandleAsync);

        // Issue 18: the chat's HTTP surface (also reached through relays over the backhaul: BackhaulHttpListener).
        AssetsEndpoints.Map(app);
        ChatApiEndpoints.Map(app);
        FilesEndpoints.Map(app);

        app.MapPost("/v1/tokens", TokenEndpoint.Issue);

        // The published keys: current first, then rotated-out keys still in their overlap (relays refresh from here).
        app.MapGet("/.well-known/jwks.json", (TokenIssuer issuer) => Results.Text(issuer.JwksJson, "application/json"));
        app.MapGet("/v1/jwks", (TokenIssuer issuer) => Results.Text(issuer.JwksJson, "application/json"));
        app.MapGet("/v1/public-key.pem", (TokenIssuer issuer) => Results.Text(issuer.PublicKeyPem, "application/x-pem-file"));

        // Issue 17: the caller's region and the healthy relays best first; POST with a token: a fresh token.
        NegotiateEndpoint.Map(app);

        app.MapGet("/healthz", () => Results.Text("ok\n"));

        // Issue 20: ready unless cluster mode's broker is slow or unreachable (503 with the reason).
        app.MapGet("/readyz", (SessionRegistry registry) => registry.Cluster is { Healthy: false } c
            ? Results.Text($"not ready: {c.Problem}\n", statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Text("ready\n"));
        // Concurrent GETs share one rendering (FleetSnapshots), each started after the request arrived.
        app.MapGet("/fleet", async (FleetView view, FleetSnapshots snapshots, TimeProvider time, HttpContext context) =>
        {
            long arrived = time.GetTimestamp();
            string json = await snapshots.GetSinceAsync(view.RenderAsync, arrived, context.RequestAborted).ConfigureAwait(false);
            return Results.Text(json, "application/json; charset=utf-8");
        });

        // Fleet dashboard (issue 7, Http/Dashboard.cs): GET /, GET /v1/fleet/stream (SSE), POST /v1/relays/{id}/drain|undrain, GET /v1/load/latest.
        Dashboard.Map(app);

        // Issue 17: POST /v1/regions/{region}/rebalance (admin key): the region's users on other regions' relays go home.
        RebalanceEndpoint.Map(app);
        CachePurgeEndpoint.Map(app); // issue 18: POST /v1/cache/purge, a cache-purge order to every linked relay

        // Reading the faults is open; every change needs the admin key (AdminKeyFilter).
        app.MapGet("/v1/faults", (FaultState state) => Results.Ok(state.Snapshot()));
        var faults = app.MapGroup("/v1/faults").AddEndpointFilter<AdminKeyFilter>();
        faults.MapDelete("/", (FaultState state) =>
        {
            state.Clear();
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/latency", (LatencyRequest r, FaultState state) =>
        {
            if (r.Ms < 0 || r.JitterMs < 0 || r.Ms > 60_000 || r.JitterMs > 60_000)
            {
                return Results.BadRequest(new { error = "ms and jitterMs must be 0-60000" });
            }

            state.SetLatency(r.RelayId, r.Ms, r.JitterMs);
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/slow", (SlowRequest r, FaultState state) =>
        {
            if (r.Ms is < 0 or > 60_000)
            {
                return Results.BadRequest(new { error = "ms must be 0-60000" });
            }

            state.SetSlow(r.Ms);
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/stall", (StallRequest r, FaultState state) =>
        {
            if (string.IsNullOrWhiteSpace(r.Session))
            {
                return Results.BadRequest(new { error = "session is required" });
            }

            state.Stall(r.Session);
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/refuse-streams", (OnRequest r, FaultState state) =>
        {
            state.SetRefuseStreams(r.On);
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/hold-hellos", (OnRequest r, FaultState state) =>
        {
            state.HoldHellos = r.On;
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/drop-link", (RelayRequest r, BackhaulService backhaul) =>
            NoRelayId(r.RelayId) ?? Results.Ok(new { dropped = backhaul.Listener.DropLinks(r.RelayId, all: false) }));
        faults.MapPost("/drop-relay", (RelayRequest r, BackhaulService backhaul) =>
            NoRelayId(r.RelayId) ?? Results.Ok(new { dropped = backhaul.Listener.DropLinks(r.RelayId, all: true) }));
        faults.MapPost("/block-relay", (RelayRequest r, FaultState state) =>
        {
            if (NoRelayId(r.RelayId) is { } missing)
            {
                return missing;
            }

            state.BlockRelay(r.RelayId);
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/link-latency", (LinkLatencyRequest r, FaultState state) =>
        {
            if (NoRelayId(r.RelayId) is { } missing)
            {
                return missing;
            }

            if (r.Ms is < 0 or > 60_000)
            {
                return Results.BadRequest(new { error = "ms must be 0-60000" });
            }

            state.SetLinkLatency(r.RelayId, r.Ms);
            return Results.Ok(state.Snapshot());
        });
        faults.MapPost("/kick", (KickRequest r, SessionRegistry registry) =>
            Results.Ok(new { closed = registry.Kick(Math.Max(0, r.Count), r.Code ?? CloseCodes.GoingAway, "kicked by fault injection") }));
    }

    /// <summary>A 400 naming the field when a fault request names no relay (it was a 500: a null dictionary key).</summary>
    private static IResult? NoRelayId(string? relayId) =>
        string.IsNullOrWhiteSpace(relayId) ? Results.BadRequest(new { error = "relayId is required" }) : null;
}
