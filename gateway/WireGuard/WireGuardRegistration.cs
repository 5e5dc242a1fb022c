using Relay.Gateway.Configuration;
using Relay.Gateway.Health;
using Relay.WireGuard;
using Relay.WireGuard.Hosting;

namespace Relay.Gateway.WireGuard;

/// <summary>Registers the tunnel when Gateway:WireGuard:Mode is managed or external.</summary>
internal static class WireGuardRegistration
{
    /// <summary>The gateway's tunnel settings (see <see cref="WireGuardOptions"/> for each setting and its default).</summary>
    public const string Section = GatewayOptions.Section + ":WireGuard";

    /// <summary>Runs the tunnel from Gateway:WireGuard (see <see cref="WireGuardHostingExtensions.AddWireGuardTunnel"/>); with a tunnel, registers the backhaul's link state for it and its "tunnel" <see cref="IHealthSignal"/>.</summary>
    public static void AddRelayWireGuard(this WebApplicationBuilder builder)
    {
        if (builder.AddWireGuardTunnel(Section))
        {
            builder.Services.AddSingleton<IBackhaulLinkState, BackhaulLinkState>();
            builder.Services.AddSingleton<IHealthSignal, TunnelSignal>();
            builder.Services.AddSingleton<TunnelMetrics>(); // issue 19: the handshake age for the alerting rules
        }
    }

    /// <summary>GET /tunnel: the tunnel signal as JSON; 503 when sick. 404 without a tunnel.</summary>
    public static void MapRelayTunnel(this WebApplication app)
    {
        _ = app.Services.GetService<TunnelMetrics>(); // the tunnel's gauges exist from the start (null without a tunnel)
        app.MapGet("/tunnel", (IServiceProvider services) =>
        {
            var signal = services.GetServices<IHealthSignal>().FirstOrDefault(s => s.Name == "tunnel");
            if (signal is null)
            {
                return Results.NotFound();
            }

            var reading = signal.Read();
            var body = new Dictionary<string, object?>(reading.Values) { ["level"] = reading.Level.ToString().ToLowerInvariant(), ["reason"] = reading.Reason };
            return Results.Json(body, statusCode: reading.Level == HealthLevel.Sick ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
        });
    }
}
