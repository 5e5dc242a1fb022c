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
    /// Binds <see cref="WireGuardOptions"/> from <paramref name="section"/> and checks it now (a bad setting throws
    /// an <see cref="OptionsValidationException"/> of one line naming the key, before the host is built). When the
    /// section's Mode is managed or external, registers <see cref="WireGuardTunnelService"/> as a hosted service
    /// and returns true; with mode none (the default) registers nothing else and returns false.
    /// The service uses the registered <see cref="TimeProvider"/> (the system clock when none is) and, when one
    /// is registered, the host's <see cref="IBackhaulLinkState"/>.
    /// </summary>
    public static bool AddWireGuardTunnel(this IHostApplicationBuilder builder, string section)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(section);

        // Checked here and not only at start: whether there is a tunnel decides what is registered, and a failure
        // inside Host.StartAsync is also logged by the host with a stack trace, where the hosts print one line.
        var options = builder.Configuration.GetSection(section).Get<WireGuardOptions>() ?? new WireGuardOptions();
        var validator = new WireGuardOptionsValidator(section);
        var result = validator.Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(section, typeof(WireGuardOptions), [result.FailureMessage]);
        }

        builder.Services.AddOptions<WireGuardOptions>().BindConfiguration(section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WireGuardOptions>>(validator);
        if (options.Mode == WireGuardMode.None)
        {
            return false;
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WireGuardTunnelService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WireGuardTunnelService>());
        return true;
    }
}
