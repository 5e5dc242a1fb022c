using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace Relay.CoreSim.Http;

/// <summary>
/// The cap on core-sim's public HTTP connections that are not websocket sessions (<c>CoreSim:MaxConnections</c>): a
/// connection beyond it is closed at once. A connection leaves the count when it ends or when it becomes a websocket:
/// Kestrel's HTTP/1.1 upgrade calls <see cref="IDecrementConcurrentConnectionCountFeature"/>, as for its own limit.
/// Kestrel's own limit (<c>Limits.MaxConcurrentConnections</c>) is not used because it would count the relays' backhaul
/// HTTP streams as well, which hold no file.
/// </summary>
internal sealed class ConnectionCap(int max)
{
    private int _open;

    /// <summary>Connections counted now.</summary>
    public int Open => Volatile.Read(ref _open);

    public ConnectionDelegate Middleware(ConnectionDelegate next) => async connection =>
    {
        if (Interlocked.Increment(ref _open) > max)
        {
            Interlocked.Decrement(ref _open);
            return; // closed at once
        }

        var release = new Release(this);
        connection.Features.Set<IDecrementConcurrentConnectionCountFeature>(release);
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            release.ReleaseConnection();
        }
    };

    private sealed class Release(ConnectionCap cap) : IDecrementConcurrentConnectionCountFeature
    {
        private int _released;

        public void ReleaseConnection()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Decrement(ref cap._open);
            }
        }
    }
}
