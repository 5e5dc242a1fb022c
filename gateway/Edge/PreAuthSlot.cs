using System.Net;

namespace Relay.Gateway.Edge;

/// <summary>
/// A connection's place among the pre-auth connections (a connection feature): given back once the connection
/// becomes a websocket session (<see cref="Upgraded"/>) or ends, whichever comes first.
/// </summary>
internal sealed class PreAuthSlot(ConnectionGate gate, IPAddress? client) : IDisposable
{
    private int _released;

    /// <summary>The connection is a session now: it no longer counts as pre-auth.</summary>
    public void Upgraded() => Dispose();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            gate.LeavePreAuth(client);
        }
    }
}
