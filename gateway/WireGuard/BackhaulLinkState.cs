using Microsoft.Extensions.Options;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.WireGuard.Hosting;

namespace Relay.Gateway.WireGuard;

/// <summary>Tells the tunnel the gateway's links are failing while fewer are up than Endpoints × LinksPerEndpoint.</summary>
internal sealed class BackhaulLinkState(BackhaulService backhaul, IOptions<GatewayOptions> gateway) : IBackhaulLinkState
{
    private readonly int _expectedLinks = gateway.Value.Backhaul.Endpoints.Length * gateway.Value.Backhaul.LinksPerEndpoint;

    public bool LinksFailing => backhaul.Pool.LinksUp < _expectedLinks;
}
