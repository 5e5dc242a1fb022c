using Relay.Contracts.Configuration;
using Relay.Gateway.Configuration;
using Relay.WireGuard;

namespace Relay.Gateway;

/// <summary>Every key the gateway reads under "Gateway" (its options classes, found once by reflection at start-up).</summary>
internal static class GatewaySettings
{
    /// <summary>GatewayOptions with its Backhaul and Health sections, the tunnel's "Gateway:WireGuard" and "Gateway:UnderAttack".</summary>
    public static SettingsSchema Schema { get; } = new(
        GatewayOptions.Section,
        typeof(GatewayOptions),
        new Dictionary<string, Type>(StringComparer.Ordinal) { ["WireGuard"] = typeof(WireGuardOptions), ["UnderAttack"] = typeof(Security.UnderAttackOptions), ["EdgeHttp"] = typeof(EdgeHttp.EdgeHttpOptions),
            ["EdgeHttp:Cache"] = typeof(EdgeHttp.Cache.EdgeCacheOptions), // edge cache (issue 18): Gateway:EdgeHttp:Cache
        });
}
