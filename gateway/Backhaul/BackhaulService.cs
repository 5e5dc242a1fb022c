using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Tunnel.Links;
using Relay.Tunnel.Pool;

namespace Relay.Gateway.Backhaul;

/// <summary>Owns the link pool to the core for the life of the host.</summary>
internal sealed class BackhaulService : IHostedService, IAsyncDisposable
{
    public BackhaulService(IOptions<GatewayOptions> options, TimeProvider time, IMeterFactory meterFactory, ILogger<LinkPool> logger)
    {
        var o = options.Value;
        Pool = new LinkPool(new LinkPoolOptions
        {
            RelayId = o.Backhaul.RelayId,
            Region = o.Backhaul.Region,
            Endpoints = o.Backhaul.Endpoints,
            LinksPerEndpoint = o.Backhaul.LinksPerEndpoint,
            MeterFactory = meterFactory,
            Link = new Relay.Tunnel.Links.LinkOptions { SharedKey = LinkKey.TryParse(o.Backhaul.SharedKey, development: true, out var key, out _) ? key : [], MaxMessageSize = o.Backhaul.MaxMessageSize, HeartbeatInterval = o.Backhaul.HeartbeatInterval, DeadLinkTimeout = o.Backhaul.DeadLinkTimeout, DuplicateFramesUpTo = o.Backhaul.DuplicateFramesUpTo, DuplicateAboveRtt = o.Backhaul.DuplicateAboveRtt, TimeProvider = time },
        }, logger);
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
