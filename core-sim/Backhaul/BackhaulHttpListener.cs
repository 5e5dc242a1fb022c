using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.Connections;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Backhaul;

/// <summary>
/// The HTTP streams relays open (OPEN kind "http", issue 18), handed to Kestrel as connections: the backhaul service
/// offers each one; Kestrel, bound to <see cref="BackhaulHttpEndPoint"/>, accepts them and serves them with core-sim's
/// own pipeline (no loopback socket, and the request keeps which relay it came from). At most
/// <see cref="MaxWaiting"/> wait to be accepted; beyond it a stream is closed with 1013. When core-sim stops (Kestrel
/// unbinds this listener first), every stream it handed over ends with 1001 at once, mid-response too, as its websocket
/// sessions do: the relay fails that request (a 502, or a cut body once the headers are out) and sends the next to another core. Left to Kestrel's graceful
/// stop, a response waiting for a relay that reads no more would hold the stop for the host's whole shutdown timeout.
/// </summary>
internal sealed class BackhaulHttpListener : IConnectionListener
{
    public const int MaxWaiting = 1024;
    private readonly Channel<MuxStream> _waiting = Channel.CreateBounded<MuxStream>(new BoundedChannelOptions(MaxWaiting) { FullMode = BoundedChannelFullMode.Wait });
    private readonly ConcurrentDictionary<BackhaulHttpConnection, byte> _live = new();
    private readonly Action<BackhaulHttpConnection> _ended;
    private volatile bool _unbound;

    public BackhaulHttpListener()
    {
        _ended = c => _live.TryRemove(c, out _); // one delegate for every connection
    }

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
            var connection = new BackhaulHttpConnection(stream, _ended);
            _live[connection] = 0;
            if (_unbound)
            {
                connection.GoAway(); // stopped meanwhile
            }

            return connection;
        }
        catch (ChannelClosedException)
        {
            return null;
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
    {
        _unbound = true;
        _waiting.Writer.TryComplete();
        while (_waiting.Reader.TryRead(out var stream))
        {
            stream.Close(StreamCodes.GoingAway, "core-sim stopping");
        }

        foreach (var connection in _live.Keys)
        {
            connection.GoAway();
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => UnbindAsync();
}
