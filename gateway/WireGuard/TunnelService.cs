using Microsoft.Extensions.Options;
using Relay.Gateway.Backhaul;
using Relay.Tunnel.WireGuard;

namespace Relay.Gateway.WireGuard;

/// <summary>
/// Runs the WireGuard tunnel for the life of the host: brought up before any hosted service starts (so the
/// link pool dials the core through it at once) and torn down after all have stopped.
/// </summary>
internal sealed class TunnelService(IOptions<GatewayWireGuardOptions> options, BackhaulService backhaul, IOptions<GatewayOptions> gateway, ILogger<WireGuardTunnel> logger, TimeProvider time)
    : IHostedLifecycleService, IAsyncDisposable
{
    private readonly int _expectedLinks = gateway.Value.Backhaul.Endpoints.Length * gateway.Value.Backhaul.LinksPerEndpoint;

    /// <summary>The tunnel, once started.</summary>
    public WireGuardTunnel? Tunnel { get; private set; }

    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        // "Links failing" = fewer links up than configured: the tunnel must then show traffic or be blamed.
        Tunnel = new WireGuardTunnel(options.Value.Tunnel, logger, time, () => backhaul.Pool.LinksUp < _expectedLinks);
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
