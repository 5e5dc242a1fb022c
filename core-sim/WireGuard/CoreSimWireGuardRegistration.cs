using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Tunnel.WireGuard;

namespace Relay.CoreSim.WireGuard;

/// <summary>Registers core-sim's tunnel when CoreSim:WireGuard:Mode is managed or external (see <see cref="WireGuardOptions"/>).</summary>
internal static class CoreSimWireGuardRegistration
{
    public const string Section = "CoreSim:WireGuard";

    public static void AddCoreSimWireGuard(this WebApplicationBuilder builder)
    {
        var options = new WireGuardOptions();
        builder.Configuration.GetSection(Section).Bind(options);
        string? error = options.Validate(Section);
        if (error is not null)
        {
            throw new OptionsValidationException(Section, typeof(WireGuardOptions), [error]);
        }

        if (options.Mode == WireGuardMode.None)
        {
            return;
        }

        builder.Services.AddSingleton(sp => new CoreSimTunnelService(options, sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<WireGuardTunnel>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CoreSimTunnelService>());
    }
}
