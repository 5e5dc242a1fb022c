using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Backhaul;

/// <summary>
/// The HTTP streams relays open (OPEN kind "http", issue 18), handed to Kestrel as connections: the backhaul service
/// offers each one; Kestrel, bound to <see cref="BackhaulHttpEndPoint"/>, accepts them and serves them with core-sim's
/// own pipeline (no loopback socket, and the request keeps which relay it came from). At most
/// <see cref="MaxWaiting"/> wait to be accepted; beyond it a stream is closed with 1013.
/// </summary>
internal sealed class BackhaulHttpListener : IConnectionListener
{
    public const int MaxWaiting = 1024;
    private readonly Channel<MuxStream> _waiting = Channel.CreateBounded<MuxStream>(new BoundedChannelOptions(MaxWaiting) { FullMode = BoundedChannelFullMode.Wait });

    public EndPoint EndPoint => BackhaulHttpEndPoint.Instance;

    /// <summary>Hands a stream to Kestrel; false (stream closed with 1013) when too many wait.</summary>
    public bool Offer(MuxStream stream)
    {
        if (_waiting.Writer.TryWrite(stream))
        {
            return true;
        }

        stream.Close(StreamCodes.TryAgainLater, "too many HTTP streams waiting for core-sim");
        return false;
    }

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var stream = await _waiting.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            return new BackhaulHttpConnection(stream);
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _waiting.Writer.TryComplete();
        while (_waiting.Reader.TryRead(out var stream))
        {
            stream.Close(StreamCodes.GoingAway, "core-sim stopping");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
