using OpenTelemetry.Resources;
using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using Relay.Tunnel.Diagnostics;

namespace Relay.Gateway.Metrics;

/// <summary>
/// The gateway's meters (<c>Relay.Gateway</c>, <c>Relay.Tunnel</c>), Kestrel's (connections, queued, rejected) and the
/// runtime's (<c>System.Runtime</c>: GC pauses and collections, heap, thread pool, CPU) exported at <c>/metrics</c> in the Prometheus text
/// format by OpenTelemetry's exporter: instrument <c>relay.gateway.session_opens</c> is scraped as
/// <c>relay_gateway_session_opens_total</c> (dots to underscores, counters get <c>_total</c>).
/// </summary>
internal static class MetricsExtensions
{
    /// <summary>Kestrel's meter: <c>kestrel_active_connections</c>, <c>kestrel_queued_connections</c>, <c>kestrel_rejected_connections_total</c>, …</summary>
    public const string KestrelMeter = "Microsoft.AspNetCore.Server.Kestrel";

    /// <summary>The runtime's meter (.NET 9+): <c>dotnet_gc_pause_time_seconds_total</c>, <c>dotnet_gc_collections_total</c>, …</summary>
    public const string RuntimeMeter = "System.Runtime";

    public static IServiceCollection AddRelayMetrics(this IServiceCollection services)
    {
        services.AddSingleton<GatewayMetrics>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(GatewayVersion.ServiceName, serviceVersion: GatewayVersion.Text, autoGenerateServiceInstanceId: false))
            .WithMetrics(metrics => metrics
            .AddMeter(GatewayMetrics.MeterName, TunnelMeter.Name, KestrelMeter, RuntimeMeter)
            // promtool check metrics (issue 19): a gauge may not end in "_count" (that suffix is a histogram's or a
            // summary's), so the runtime's three gauges that do are exported under names that do not.
            .AddView("dotnet.assembly.count", "dotnet.assemblies.loaded")
            .AddView("dotnet.process.cpu.count", "dotnet.process.cpus")
            .AddView("dotnet.timer.count", "dotnet.timers.active")
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
            // The runtime's meter is process-wide by nature (no factory), and is kept.
            metrics.AddView(instrument => ReferenceEquals(instrument.Meter.Scope, own) || instrument.Meter.Name == RuntimeMeter ? null : MetricStreamConfiguration.Drop);
        });
        return services;
    }

    public static void MapRelayMetrics(this WebApplication app) => app.MapPrometheusScrapingEndpoint("/metrics");
}
