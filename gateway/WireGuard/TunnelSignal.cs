using Relay.Gateway.Health;
using Relay.WireGuard.Health;
using Relay.WireGuard.Hosting;

namespace Relay.Gateway.WireGuard;

/// <summary>
/// The "tunnel" health signal: handshake age, bytes each way, endpoint. Sick when the handshake is older
/// than Gateway:WireGuard:HandshakeTimeout, when the peer is silent while links fail, or when the device
/// does not answer; Degraded while waiting for the first handshake.
/// </summary>
internal sealed class TunnelSignal(WireGuardTunnelService service) : IHealthSignal
{
    public string Name => "tunnel";

    public HealthReading Read()
    {
        if (service.Tunnel is not { } tunnel)
        {
            return new HealthReading(HealthLevel.Sick, "tunnel: not started", new Dictionary<string, object?>());
        }

        var status = tunnel.Status;
        var level = status.Health switch
        {
            TunnelHealth.Healthy => HealthLevel.Healthy,
            TunnelHealth.Waiting => HealthLevel.Degraded,
            _ => HealthLevel.Sick,
        };
        return new HealthReading(level, status.Reason, status.Values());
    }
}
