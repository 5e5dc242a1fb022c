using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Health;

/// <summary>/healthz, /readyz, /status, /metrics and the operator actions.</summary>
internal static class HealthEndpoints
{
    public static IServiceCollection AddRelayHealth(this IServiceCollection services)
    {
        services.AddSingleton<DrainController>();
        services.AddSingleton<HealthMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        services.AddSingleton<AgentCheckServer>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentCheckServer>());
        services.AddSingleton<IHealthSignal, BackhaulSignal>();
        services.AddSingleton<IHealthSignal, SessionSignal>();
        services.AddSingleton<IHealthSignal, ProcessSignal>();
        services.AddHealthChecks().AddCheck<ReadinessCheck>("relay", tags: ["ready"]);
        return services;
    }

    public static void MapRelayHealth(this WebApplication app)
    {
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
        app.MapGet("/status", (HealthMonitor monitor, BackhaulService backhaul) => Results.Json(new
        {
            health = monitor.Describe(),
            links = backhaul.Pool.Links(),
        }));
        app.MapGet("/metrics", (BackhaulService backhaul, GatewayMetrics metrics, HealthMonitor monitor, Security.UnderAttackMetrics underAttack) =>
            Results.Text(metrics.ToPrometheus(backhaul.Pool.LinksUp) + HealthMetrics(monitor.Current) + underAttack.ToPrometheus(), "text/plain; version=0.0.4; charset=utf-8"));
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

    private static string HealthMetrics(HealthSnapshot snapshot)
    {
        var sb = new StringBuilder();
        sb.Append("# HELP relay_gateway_state Relay state (1 for the current one).\n# TYPE relay_gateway_state gauge\n");
        foreach (var state in Enum.GetValues<RelayState>())
        {
            sb.Append("relay_gateway_state{state=\"").Append(state.ToString().ToLowerInvariant()).Append("\"} ").Append(state == snapshot.State ? 1 : 0).Append('\n');
        }

        sb.Append("# HELP relay_gateway_agent_weight HAProxy agent weight in percent.\n# TYPE relay_gateway_agent_weight gauge\n");
        sb.Append("relay_gateway_agent_weight ").Append(snapshot.Weight).Append('\n');
        return sb.ToString();
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
