using System.Diagnostics.Metrics;

namespace Relay.Gateway.Edge;

/// <summary>
/// The connection gate's counts on meter <c>Relay.Gateway</c>: <c>relay.gateway.connections</c>, every client connection
/// open now whoever holds it (sessions on their own sockets, Kestrel's connections, handshakes, HTTP), and
/// <c>relay.gateway.pre_auth_connections</c>, those not yet sessions (scraped as <c>relay_gateway_connections</c> and
/// <c>relay_gateway_pre_auth_connections</c>). Kestrel's own <c>kestrel_active_connections</c> no longer counts the
/// plain listener's sessions (issue 21), which are not Kestrel connections.
/// </summary>
internal sealed class ConnectionGateMetrics
{
    public ConnectionGateMetrics(IMeterFactory meterFactory, ConnectionGate gate)
    {
        var meter = meterFactory.Create(new MeterOptions(Metrics.GatewayMetrics.MeterName) { Version = "1.0" });
        meter.CreateObservableUpDownCounter("relay.gateway.connections", () => gate.Open, description: "Client connections open (sessions, handshakes, HTTP), on every path.");
        meter.CreateObservableUpDownCounter("relay.gateway.pre_auth_connections", () => gate.PreAuth, description: "Client connections open that are not sessions yet.");
    }
}
