using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Health;

/// <summary>/healthz, /readyz, /status and the operator actions; the health gauges for /metrics.</summary>
internal static class HealthEndpoints
{
    public static IServiceCollection AddRelayHealth(this IServiceCollection services)
    {
        services.AddSingleton<DrainController>();
        services.AddSingleton<Rebalancer>(); // issue 17: the core's rebalance order (resolved at start: it listens for the order)
        services.AddSingleton<HealthMonitor>();
        services.AddSingleton<HealthMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        services.AddSingleton<AgentCheckServer>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentCheckServer>());
        services.AddSingleton<IHealthSignal, BackhaulSignal>();
        services.AddSingleton<IHealthSignal, SessionSignal>();
        services.AddSingleton<IHealthSignal, ProcessSignal>();
        services.AddSingleton<IHealthSignal, ConnectionSignal>();
        services.AddHealthChecks().AddCheck<ReadinessCheck>("relay", tags: ["ready"]);
        return services;
    }

    public static void MapRelayHealth(this WebApplication app)
    {
        _ = app.Services.GetRequiredService<HealthMetrics>(); // the state and weight gauges exist from the start
        _ = app.Services.GetRequiredService<Rebalancer>(); // listens for the core's rebalance order from the start
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        app.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResultStatusCodes = { [HealthStatus.Healthy] = 200, [HealthStatus.Degraded] = 200, [HealthStatus.Unhealthy] = 503 },
            ResponseWriter = (context, report) =>
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
                var entry = report.Entries.Values.FirstOrDefault();
                return context.Response.WriteAsync((entry.Description ?? report.Status.ToString()) + "\n");
            },
        });
        app.MapGet("/status", (HealthMonitor monitor, BackhaulService backhaul, Edge.ConnectionGate connections, Rebalancer rebalancer, IServiceProvider services) => Results.Json(new
        {
            version = GatewayVersion.Text,
            health = monitor.Describe(),
            rebalance = rebalancer.Describe(),
            links = backhaul.Pool.Links(),
            connections = connections.Describe(),
            edgeCache = EdgeHttp.Cache.EdgeCacheExtensions.DescribeEdgeCache(services), // edge cache (issue 18): hits, misses, bypasses, stale, bytes saved, size
        }));
        app.MapPost("/admin/drain", (HttpContext context, DrainController drain, IOptions<GatewayOptions> options) =>
        {
            if (!Authorized(context, options.Value))
            {
                return Results.Unauthorized();
            }

            bool force = context.Request.Query["force"] == "true";
            var result = drain.Start(force, force ? "operator (forced)" : "operator");
            return Results.Json(new { accepted = result.Accepted, message = result.Message, drain = drain.Describe() }, statusCode: result.Accepted ? 200 : 409);
        });
        app.MapPost("/admin/undrain", (HttpContext context, DrainController drain, IOptions<GatewayOptions> options) =>
        {
            if (!Authorized(context, options.Value))
            {
                return Results.Unauthorized();
            }

            drain.Undrain();
            return Results.Json(new { accepted = true, message = "taking sessions again" });
        });
    }

    internal static bool Authorized(HttpContext context, GatewayOptions options)
    {
        string? header = context.Request.Headers.Authorization;
        return options.AdminKey.Length > 0 && header is not null
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), Encoding.UTF8.GetBytes("Bearer " + options.AdminKey));
    }

    /// <summary>Readiness as an ASP.NET Core health check: healthy or degraded and not draining.</summary>
    private sealed class ReadinessCheck(HealthMonitor monitor) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var snapshot = monitor.Current;
            string reason = snapshot.Reasons.Count > 0 ? string.Join("; ", snapshot.Reasons) : snapshot.StateName;
            return Task.FromResult(snapshot.State switch
            {
                RelayState.Healthy => HealthCheckResult.Healthy("ready"),
                RelayState.Degraded => HealthCheckResult.Degraded($"ready (degraded: {reason})"),
                RelayState.Draining => HealthCheckResult.Unhealthy("draining"),
                _ => HealthCheckResult.Unhealthy(reason),
            });
        }
    }
}
