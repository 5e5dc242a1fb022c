using Microsoft.Extensions.Options;
using Relay.Gateway.Hosting;
using Relay.Gateway.Metrics;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Health;

/// <summary>/healthz, /readyz, /status, /metrics and the operator actions.</summary>
internal static class HealthEndpoints
{
    public static void MapRelayHealth(this WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapGet("/readyz", (BackhaulService backhaul, SessionRegistry sessions) =>
        {
            string? reason = NotReadyReason(backhaul, sessions);
            return reason is null ? Results.Text("ready\n") : Results.Text(reason + "\n", statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/status", (BackhaulService backhaul, SessionRegistry sessions, GatewayMetrics metrics, IOptions<GatewayOptions> options) =>
        {
            string? reason = NotReadyReason(backhaul, sessions);
            return Results.Json(new
            {
                relayId = options.Value.Backhaul.RelayId,
                region = options.Value.Backhaul.Region,
                state = sessions.Draining ? "draining" : reason is null ? "healthy" : "sick",
                reasons = reason is null ? Array.Empty<string>() : [reason],
                sessions = metrics.Sessions,
                links = backhaul.Pool.Links(),
                backhaulStreams = backhaul.Pool.StreamCount,
            });
        });
        app.MapGet("/metrics", (BackhaulService backhaul, GatewayMetrics metrics) =>
            Results.Text(metrics.ToPrometheus(backhaul.Pool.LinksUp), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapPost("/admin/drain", async (HttpContext context, SessionRegistry sessions, BackhaulService backhaul, IOptions<GatewayOptions> options) =>
        {
            if (!Authorized(context, options.Value))
            {
                return Results.Unauthorized();
            }

            sessions.Draining = true;
            backhaul.Pool.SendGoAway("relay draining");
            int count = sessions.Count;
            await sessions.CloseAllAsync(4001, "relay draining: reconnect now", options.Value.ShutdownTimeout).ConfigureAwait(false);
            return Results.Json(new { state = "draining", sessionsMoved = count });
        });
        app.MapPost("/admin/undrain", (HttpContext context, SessionRegistry sessions, IOptions<GatewayOptions> options) =>
        {
            if (!Authorized(context, options.Value))
            {
                return Results.Unauthorized();
            }

            sessions.Draining = false;
            return Results.Json(new { state = "healthy" });
        });
    }

    private static string? NotReadyReason(BackhaulService backhaul, SessionRegistry sessions)
    {
        if (sessions.Draining)
        {
            return "draining";
        }

        return backhaul.Pool.LinksUp == 0 ? "backhaul lost: no link to the core is up" : null;
    }

    private static bool Authorized(HttpContext context, GatewayOptions options)
    {
        string? header = context.Request.Headers.Authorization;
        return options.AdminKey.Length > 0 && header is not null
            && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(header), System.Text.Encoding.UTF8.GetBytes("Bearer " + options.AdminKey));
    }
}
