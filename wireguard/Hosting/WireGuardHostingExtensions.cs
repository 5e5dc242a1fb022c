using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Relay.WireGuard.Hosting;

/// <summary>The one way a host runs the tunnel: the gateway with "Gateway:WireGuard", core-sim with "CoreSim:WireGuard".</summary>
public static class WireGuardHostingExtensions
{
    /// <summary>
    /// Binds <see cref="WireGuardOptions"/> from <paramref name="section"/> and checks it at start (a bad setting
    /// stops start-up with an <see cref="OptionsValidationException"/> of one line naming the key). When the
    /// section's Mode is managed or external, registers <see cref="WireGuardTunnelService"/> as a hosted service
    /// and returns true; with mode none (the default) registers nothing else and returns false.
    /// The service uses the registered <see cref="TimeProvider"/> (the system clock when none is) and, when one
    /// is registered, the host's <see cref="IBackhaulLinkState"/>.
    /// </summary>
    public static bool AddWireGuardTunnel(this IHostApplicationBuilder builder, string section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(section);

        builder.Services.AddOptions<WireGuardOptions>().BindConfiguration(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WireGuardOptions>>(new WireGuardOptionsValidator(section));

        // Whether there is a tunnel at all decides what is registered, so Mode is read now; the other settings are
        // checked with the rest of the options at start.
        if (builder.Configuration.GetSection(section).GetValue(nameof(WireGuardOptions.Mode), WireGuardMode.None) == WireGuardMode.None)
        {
            return false;
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WireGuardTunnelService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WireGuardTunnelService>());
        return true;
    }
}
