using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Relay.Gateway.Edge;

/// <summary>
/// A connection's place among the pre-auth connections (a connection feature): given back once the connection
/// becomes a websocket session (<see cref="Upgraded"/>) or ends, whichever comes first; or taken by the gate, which
/// then aborts the connection (<see cref="Evicted"/>), when a newer connection needs it at the pre-auth cap.
/// </summary>
internal sealed class PreAuthSlot(ConnectionGate gate, IPAddress address, ConnectionContext? connection) : IDisposable
{
    private int _evicted;

    /// <summary>The client address it is counted against.</summary>
    public IPAddress Address { get; } = address;

    /// <summary>True once the gate took this slot for a newer connection and aborted this one.</summary>
    public bool Evicted => Volatile.Read(ref _evicted) != 0;

    /// <summary>Its place in the gate's table (under the gate's lock).</summary>
    internal LinkedListNode<PreAuthSlot>? Node { get; set; }

    /// <summary>The connection is a session now: it no longer counts as pre-auth.</summary>
    public void Upgraded() => Dispose();

    public void Dispose() => gate.LeavePreAuth(this);

    /// <summary>Called by the gate once this slot is out of its table: closes the connection.</summary>
    internal void Evict()
    {
        Volatile.Write(ref _evicted, 1);
        connection?.Abort(new ConnectionAbortedException("evicted: the pre-auth cap is reached and a newer connection took its slot"));
    }
}
