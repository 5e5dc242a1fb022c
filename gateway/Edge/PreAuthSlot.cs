using System.Net;
using Microsoft.AspNetCore.Connections;

namespace Relay.Gateway.Edge;

/// <summary>
/// A connection's place among the pre-auth connections (a connection feature): given back once the connection
/// becomes a websocket session (<see cref="Upgraded"/>) or ends, whichever comes first; or taken by the gate, which
/// then aborts the connection (<see cref="Evicted"/>), when a newer connection needs it at the pre-auth cap. An HTTP/2
/// connection carries sessions as streams and outlives them: when its last one ends (<see cref="SessionEnded"/>) it is
/// a pre-auth connection again, under the same caps (a security review found such a connection, kept open with cheap
/// requests, counted nowhere: one address could hold connections up to the gate's limit).
/// </summary>
internal sealed class PreAuthSlot(ConnectionGate gate, IPAddress address, ConnectionContext? connection) : IDisposable
{
    private int _evicted;
    private int _reading;
    private int _closed;
    private int _refusedUpgrades;
    private System.IO.Pipelines.PipeReader? _headReader;
    private CancellationTokenSource? _headWait;

    /// <summary>The client address it is counted against.</summary>
    public IPAddress Address { get; } = address;

    /// <summary>True once the gate took this slot for a newer connection and aborted this one.</summary>
    public bool Evicted => Volatile.Read(ref _evicted) != 0;

    /// <summary>Its place in the gate's table (under the gate's lock).</summary>
    internal LinkedListNode<PreAuthSlot>? Node { get; set; }

    /// <summary>Websocket sessions its connection carries now (under the gate's lock).</summary>
    internal int Sessions { get; set; }

    /// <summary>Not limited per address (a trusted proxy's connection).</summary>
    internal bool Unlimited { get; init; }

    /// <summary>The connection has ended.</summary>
    internal bool Closed => Volatile.Read(ref _closed) != 0;

    /// <summary>Websocket upgrades refused on this connection so far (HTTP/1.1 keep-alive, HTTP/2 streams).</summary>
    public int RefusedUpgrades => Volatile.Read(ref _refusedUpgrades);

    /// <summary>Counts one more refused upgrade on this connection; the count.</summary>
    public int UpgradeRefused() => Interlocked.Increment(ref _refusedUpgrades);

    /// <summary>The connection carries a session now: it no longer counts as pre-auth while it does.</summary>
    public void Upgraded() => gate.SessionStarted(this);

    /// <summary>
    /// A session of this HTTP/2 connection ended; with none left, the connection (still open) is pre-auth again, or
    /// closed when its client is at its pre-auth cap. Not for HTTP/1.1: an upgraded connection ends with its session.
    /// </summary>
    public void SessionEnded() => gate.SessionEnded(this);

    /// <summary>The connection has ended.</summary>
    public void Dispose()
    {
        Interlocked.Exchange(ref _closed, 1);
        gate.LeavePreAuth(this);
    }

    /// <summary>
    /// The fast upgrade path reads the request head itself: while it does (<see cref="BeginHeadRead"/> until
    /// <see cref="EndHeadRead"/>), an eviction only cancels that read, and the path closes the connection: no abort,
    /// no exception, no Kestrel HTTP objects for a connection that never sent a head. Floods are mostly such
    /// connections, and every exception and object they cost was garbage the GC paused the sessions for.
    /// </summary>
    internal void BeginHeadRead(System.IO.Pipelines.PipeReader reader)
    {
        _headReader = reader;
        Interlocked.Exchange(ref _reading, 1);
    }

    /// <summary>
    /// The same for a session on its own socket (<see cref="Upgrade.SocketUpgrade"/>), which has no pipe: an eviction
    /// cancels its wait for the head.
    /// </summary>
    internal void BeginHeadWait(CancellationTokenSource wait)
    {
        _headWait = wait;
        Interlocked.Exchange(ref _reading, 1);
    }

    /// <summary>Ends the head read; false when the slot was evicted meanwhile (the caller closes the connection).</summary>
    internal bool EndHeadRead()
    {
        Interlocked.Exchange(ref _reading, 0);
        return !Evicted;
    }

    /// <summary>Marks it evicted (under the gate's lock, as it leaves the table); <see cref="Evict"/> then closes the connection.</summary>
    internal void MarkEvicted() => Interlocked.Exchange(ref _evicted, 1);

    /// <summary>Asks the connection to close gracefully (HTTP/2: GOAWAY, streams in flight finish); aborts it when it cannot.</summary>
    internal void RequestClose()
    {
        if (connection?.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>() is { } lifetime)
        {
            lifetime.RequestClose();
        }
        else
        {
            connection?.Abort(new ConnectionAbortedException("over its client's pre-auth cap once its last session ended"));
        }
    }

    /// <summary>Called by the gate once this slot is out of its table: closes the connection.</summary>
    internal void Evict()
    {
        Interlocked.Exchange(ref _evicted, 1);
        if (Interlocked.CompareExchange(ref _reading, 0, 0) == 1)
        {
            if (_headReader is { } reader)
            {
                reader.CancelPendingRead(); // the head read returns IsCanceled; EndHeadRead says evicted
                return;
            }

            if (_headWait is { } wait)
            {
                try
                {
                    wait.Cancel(); // the wait for the head ends; EndHeadRead says evicted
                }
                catch (ObjectDisposedException)
                {
                    // the wait is over already; EndHeadRead says evicted
                }

                return;
            }
        }

        connection?.Abort(new ConnectionAbortedException("evicted: the pre-auth cap is reached and a newer connection took its slot"));
    }
}
