using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Tunnel.Pool;

namespace Relay.Gateway.Backhaul;

/// <summary>Owns the link pool to the core for the life of the host.</summary>
internal sealed class BackhaulService : IHostedService, IAsyncDisposable
{
    public BackhaulService(IOptions<GatewayOptions> options, TimeProvider time, IMeterFactory meterFactory, ILogger<LinkPool> logger)
    {
        var o = options.Value;
        Pool = new LinkPool(o.Backhaul.ToPoolOptions(time, meterFactory), logger);
    }

    public LinkPool Pool { get; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Pool.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => Pool.DisposeAsync();
}
