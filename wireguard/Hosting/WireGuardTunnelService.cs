using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Relay.WireGuard.Hosting;

/// <summary>
/// Runs the WireGuard tunnel for the life of the host: brought up in <see cref="StartingAsync"/>, before any
/// hosted service starts (so Kestrel and the backhaul listener may bind the tunnel address, and the link pool
/// dials the core through it at once), and torn down in <see cref="StoppedAsync"/>, after all have stopped.
/// Registered by <see cref="WireGuardHostingExtensions.AddWireGuardTunnel"/>.
/// </summary>
public sealed class WireGuardTunnelService(IOptions<WireGuardOptions> options, ILogger<WireGuardTunnel> logger, TimeProvider time, IBackhaulLinkState? links = null)
    : IHostedLifecycleService, IAsyncDisposable
{
    /// <summary>The tunnel, once started; null before.</summary>
    public WireGuardTunnel? Tunnel { get; private set; }

    /// <inheritdoc/>
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        Func<bool>? linksFailing = links is null ? null : () => links.LinksFailing;
        Tunnel = new WireGuardTunnel(options.Value, logger, time, linksFailing);
        await Tunnel.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc/>
    public async Task StoppedAsync(CancellationToken cancellationToken) => await DisposeAsync().ConfigureAwait(false);

    /// <summary>Stops polling; a managed device is torn down. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Tunnel is not null)
        {
            await Tunnel.DisposeAsync().ConfigureAwait(false);
        }
    }
}
