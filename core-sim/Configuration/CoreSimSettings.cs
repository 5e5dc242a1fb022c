using Relay.Contracts.Configuration;
using Relay.WireGuard;

namespace Relay.CoreSim.Configuration;

/// <summary>Every key core-sim reads under "CoreSim" (its options classes, found once by reflection at start-up).</summary>
internal static class CoreSimSettings
{
    /// <summary>CoreSimOptions and the tunnel's "CoreSim:WireGuard".</summary>
    public static SettingsSchema Schema { get; } = new(
        CoreSimOptions.SectionName,
        typeof(CoreSimOptions),
        new Dictionary<string, Type>(StringComparer.Ordinal) { ["WireGuard"] = typeof(WireGuardOptions) });
}
