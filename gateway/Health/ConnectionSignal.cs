using Relay.Gateway.Edge;

namespace Relay.Gateway.Health;

/// <summary>
/// Connections (issue 16): open and pre-auth connections against their caps, and what the caps refused or evicted
/// since the last reading. Degraded while the relay is at a cap (new connections are refused, or pre-auth ones
/// evicted), so /readyz's reason, /status and the health report name it; never sick by itself: the sessions the relay
/// has go on, and a flood must not make the core drain a relay (that would hand the attacker the drain).
/// </summary>
internal sealed class ConnectionSignal(ConnectionGate gate) : IHealthSignal
{
    private long _lastRefused;
    private long _lastEvicted;

    public string Name => "connections";

    public HealthReading Read()
    {
        long refused = gate.RefusedConnections;
        long evicted = gate.Evicted;
        long newRefused = refused - _lastRefused;
        long newEvicted = evicted - _lastEvicted;
        (_lastRefused, _lastEvicted) = (refused, evicted);
        int open = gate.Open;
        int preAuth = gate.PreAuth;
        var values = new Dictionary<string, object?>
        {
            ["open"] = open,
            ["preAuth"] = preAuth,
            ["maxConnections"] = gate.MaxConnections,
            ["maxPreAuthConnections"] = gate.MaxPreAuthConnections,
            ["refused"] = refused,
            ["evicted"] = evicted,
            ["refusedPerIp"] = gate.RefusedPerIp,
            ["refusedTlsRate"] = gate.RefusedTlsRate,
        };
        if (open >= gate.MaxConnections || newRefused > 0)
        {
            return new HealthReading(HealthLevel.Degraded, $"connections: at the connection cap ({open} of {gate.MaxConnections} open; {newRefused} refused since the last reading)", values);
        }

        if (preAuth >= gate.MaxPreAuthConnections || newEvicted > 0)
        {
            return new HealthReading(HealthLevel.Degraded, $"connections: at the pre-auth cap ({preAuth} of {gate.MaxPreAuthConnections} not yet sessions; {newEvicted} evicted since the last reading)", values);
        }

        return HealthReading.Healthy(values);
    }
}
