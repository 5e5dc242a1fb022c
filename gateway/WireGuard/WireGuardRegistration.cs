using Microsoft.Extensions.Options;
using Relay.Gateway.Health;
using Relay.Tunnel.WireGuard;

namespace Relay.Gateway.WireGuard;

/// <summary>Registers the tunnel when Gateway:WireGuard:Mode is managed or external.</summary>
internal static class WireGuardRegistration
{
    /// <summary>Binds and validates Gateway:WireGuard; with a tunnel, registers it and its "tunnel" <see cref="IHealthSignal"/>.</summary>
    public static void AddRelayWireGuard(this WebApplicationBuilder builder)
    {
        var tunnel = new WireGuardOptions();
        builder.Configuration.GetSection(GatewayWireGuardOptions.Section).Bind(tunnel);
        string? error = tunnel.Validate(GatewayWireGuardOptions.Section);
        if (error is not null)
        {
            throw new OptionsValidationException(GatewayWireGuardOptions.Section, typeof(WireGuardOptions), [error]);
        }

        if (tunnel.Mode == WireGuardMode.None)
        {
            return;
        }

        builder.Services.TryAddTimeProvider();
        builder.Services.AddSingleton(Options.Create(new GatewayWireGuardOptions { Tunnel = tunnel }));
        builder.Services.AddSingleton<TunnelService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TunnelService>());
        builder.Services.AddSingleton<IHealthSignal, TunnelSignal>();
    }

    /// <summary>GET /tunnel: the tunnel signal as JSON; 503 when sick. 404 without a tunnel.</summary>
    public static void MapRelayTunnel(this WebApplication app) =>
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

    private static void TryAddTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider)))
        {
            services.AddSingleton(TimeProvider.System);
        }
    }
}
