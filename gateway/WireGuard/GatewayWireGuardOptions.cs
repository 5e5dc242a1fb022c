using Relay.Tunnel.WireGuard;

namespace Relay.Gateway.WireGuard;

/// <summary>The gateway's tunnel settings, bound from "Gateway:WireGuard" (see <see cref="WireGuardOptions"/> for each setting and its default).</summary>
internal sealed class GatewayWireGuardOptions
{
    public const string Section = "Gateway:WireGuard";

    public WireGuardOptions Tunnel { get; init; } = new();
}
