using System.Diagnostics.Metrics;

namespace Relay.Gateway.Edge;

/// <summary>
/// The connection gate's counts on meter <c>Relay.Gateway</c>: <c>relay.gateway.connections</c>, every client connection
/// open now whoever holds it (sessions on their own sockets, Kestrel's connections, handshakes, HTTP), and
/// <c>relay.gateway.pre_auth_connections</c>, those not yet sessions (scraped as <c>relay_gateway_connections</c> and
/// <c>relay_gateway_pre_auth_connections</c>), and <c>relay.gateway.tls_handshakes_refused</c>, wss connections reset at
/// accept for their client's TLS handshake rate (<c>relay_gateway_tls_handshakes_refused_total</c>). Kestrel's own <c>kestrel_active_connections</c> no longer counts the
/// plain listener's sessions (issue 21), which are not Kestrel connections.
/// </summary>
internal sealed class ConnectionGateMetrics
{
    public ConnectionGateMetrics(IMeterFactory meterFactory, ConnectionGate gate)
    {
        var meter = meterFactory.Create(new MeterOptions(Metrics.GatewayMetrics.MeterName) { Version = "1.0" });
        meter.CreateObservableUpDownCounter("relay.gateway.connections", () => gate.Open, description: "Client connections open (sessions, handshakes, HTTP), on every path.");
        meter.CreateObservableUpDownCounter("relay.gateway.pre_auth_connections", () => gate.PreAuth, description: "Client connections open that are not sessions yet.");
        meter.CreateObservableCounter("relay.gateway.tls_handshakes_refused", () => gate.RefusedTlsRate, description: "wss connections reset at accept, before their TLS handshake, because their client (an IPv4 address, an IPv6 /64) was over Gateway:TlsHandshakesPerSecondPerAddress.");
    }
}
