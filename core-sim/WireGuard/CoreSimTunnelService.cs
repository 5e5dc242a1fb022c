using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relay.Tunnel.WireGuard;

namespace Relay.CoreSim.WireGuard;

/// <summary>
/// Runs core-sim's end of the WireGuard tunnel: up before Kestrel and the backhaul listener bind (so
/// CoreSim:BindAddress may be the tunnel address), torn down after they stop.
/// </summary>
internal sealed class CoreSimTunnelService(WireGuardOptions options, ILogger<WireGuardTunnel> logger) : IHostedLifecycleService, IAsyncDisposable
{
    public WireGuardTunnel? Tunnel { get; private set; }

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        Tunnel = new WireGuardTunnel(options, logger);
        await Tunnel.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StoppedAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        if (Tunnel is not null)
        {
            await Tunnel.DisposeAsync().ConfigureAwait(false);
        }
    }
}
