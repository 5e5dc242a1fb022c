using Microsoft.Extensions.Hosting.Systemd;

namespace Relay.Gateway.Hosting;

/// <summary>The gateway under systemd (issue 19): a <c>Type=notify</c> unit, packaging/systemd/relay-gateway.service.</summary>
internal static class SystemdRegistration
{
    /// <summary>
    /// Microsoft.Extensions.Hosting.Systemd's <c>AddSystemd</c> (journald log format and <see cref="SystemdLifetime"/>
    /// when systemd started the process), and whenever <c>NOTIFY_SOCKET</c> is set, whoever set it (systemd, a wrapper,
    /// a test): <see cref="SystemdLifetime"/> with <see cref="SystemdReadiness"/> as its notifier, so READY=1 waits for
    /// the relay to be ready, not for the host to have started. Nothing without <c>NOTIFY_SOCKET</c>.
    /// </summary>
    public static IServiceCollection AddRelaySystemd(this IServiceCollection services)
    {
        services.AddSystemd();
        var notifier = new SystemdNotifier();
        if (!notifier.IsEnabled)
        {
            return services;
        }

        services.AddSingleton<IHostLifetime, SystemdLifetime>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<SystemdReadiness>(sp, notifier));
        services.AddSingleton<ISystemdNotifier>(sp => sp.GetRequiredService<SystemdReadiness>());
        services.AddHostedService(sp => sp.GetRequiredService<SystemdReadiness>()); // after ShutdownService: its STOPPING=1 goes before the drain
        return services;
    }
}
