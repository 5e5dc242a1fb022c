using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Relay.CoreSim.Backhaul;

/// <summary>Lets Kestrel bind <see cref="BackhaulHttpEndPoint"/> (and nothing else) to the <see cref="BackhaulHttpListener"/>.</summary>
internal sealed class BackhaulHttpListenerFactory(BackhaulHttpListener listener) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public bool CanBind(EndPoint endpoint) => endpoint is BackhaulHttpEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        endpoint is BackhaulHttpEndPoint ? ValueTask.FromResult<IConnectionListener>(listener) : throw new NotSupportedException($"{endpoint} is not a backhaul endpoint");
}
