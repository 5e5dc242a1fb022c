using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using Relay.Tunnel.Diagnostics;

namespace Relay.Gateway.Metrics;

/// <summary>
/// The gateway's meters (<c>Relay.Gateway</c>, <c>Relay.Tunnel</c>) exported at <c>/metrics</c> in the Prometheus text
/// format by OpenTelemetry's exporter: instrument <c>relay.gateway.session_opens</c> is scraped as
/// <c>relay_gateway_session_opens_total</c> (dots to underscores, counters get <c>_total</c>).
/// </summary>
internal static class MetricsExtensions
{
    public static IServiceCollection AddRelayMetrics(this IServiceCollection services)
    {
        services.AddSingleton<GatewayMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(GatewayMetrics.MeterName, TunnelMeter.Name)
            .AddPrometheusExporter(prometheus =>
            {
                // Each scrape reads the counters now: a scrape right after a change sees it (the default caches 300 ms).
                prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
            }));
        services.ConfigureOpenTelemetryMeterProvider((sp, metrics) =>
        {
            // The SDK listens by meter name, process-wide; a test process hosts several gateways and cores, whose
            // meters share these names. This host exports the meters of its own factory only.
            var own = sp.GetRequiredService<IMeterFactory>();
            metrics.AddView(instrument => ReferenceEquals(instrument.Meter.Scope, own) ? null : MetricStreamConfiguration.Drop);
        });
        return services;
    }

    public static void MapRelayMetrics(this WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics");
}
