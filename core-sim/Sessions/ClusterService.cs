using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Relay.CoreSim.Cluster;

namespace Relay.CoreSim.Sessions;

/// <summary>Cluster mode: connects to the broker at start (a broker that is down does not stop the start: the node is not
/// ready until it answers and this node is subscribed to its channel), then once a second renews the leases of the
/// sessions this node serves (and their keys' TTL), acts on what the renewal found and writes this node's heartbeat, and
/// tells its relays whether it takes new sessions (not while the broker is unhealthy). Does nothing without
/// CoreSim:Cluster:Redis.</summary>
internal sealed class ClusterService(SessionRegistry registry, TimeProvider time, IServiceProvider services) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (registry.Cluster is { } cluster)
        {
            await cluster.ConnectAsync().ConfigureAwait(false);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (registry.Cluster is not { } cluster)
        {
            return;
        }

        var interval = TimeSpan.FromSeconds(Math.Min(1, cluster.LeaseTime.TotalSeconds / 3));
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                string? http = services.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
                registry.ApplyLeases(await cluster.HeartbeatAsync(registry.Served(), registry.SessionCount, http).ConfigureAwait(false));

                // A node cut off from the broker cannot take sessions: its relays place new ones on the other nodes.
                services.GetService<Backhaul.BackhaulService>()?.Listener.SetTakesNewStreams(cluster.Healthy, cluster.Problem ?? string.Empty);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (registry.Cluster is { } cluster)
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }
    }
}
