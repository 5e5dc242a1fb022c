using System.Diagnostics.Metrics;
using Relay.Gateway.Metrics;
using Relay.WireGuard.Hosting;

namespace Relay.Gateway.WireGuard;

/// <summary>
/// The WireGuard tunnel on the gateway's meter (issue 19, for the "tunnel handshake stale" alert):
/// <c>relay_gateway_tunnel_handshake_age_seconds</c> (the worst peer's latest handshake; absent before the first) and
/// the bytes each way, read from the tunnel's latest status at each scrape. Only with a tunnel.
/// </summary>
internal sealed class TunnelMetrics
{
    public TunnelMetrics(IMeterFactory meterFactory, WireGuardTunnelService service)
    {
        var meter = meterFactory.Create(new MeterOptions(GatewayMetrics.MeterName) { Version = "1.0" });
        meter.CreateObservableGauge(
            "relay.gateway.tunnel.handshake_age",
            () => service.Tunnel?.Status.LastHandshakeAge is { } age ? [new Measurement<double>(age.TotalSeconds)] : Array.Empty<Measurement<double>>(),
            unit: "s",
            description: "Age of the WireGuard tunnel's latest handshake (the worst peer's).");
        meter.CreateObservableCounter("relay.gateway.tunnel.received", () => service.Tunnel?.Status.RxBytes ?? 0, unit: "By", description: "Bytes received through the WireGuard tunnel.");
        meter.CreateObservableCounter("relay.gateway.tunnel.sent", () => service.Tunnel?.Status.TxBytes ?? 0, unit: "By", description: "Bytes sent through the WireGuard tunnel.");
    }
}
