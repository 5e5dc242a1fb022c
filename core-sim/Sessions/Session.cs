using System.Text;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Sessions;

/// <summary>
/// One chat session: its numbered outbound messages the client has not acknowledged, the highest
/// client seq received, its rooms, and the connection attached now (at most one). All state under <see cref="_gate"/>.
/// The unacknowledged messages are capped by count and by UTF-8 bytes; past either cap the session ends (buffer_overflow).
/// </summary>
internal sealed class Session(string id, string resumeToken, TokenClaims claims, int maxUnacknowledged, int maxUnacknowledgedBytes)
{
    private readonly object _gate = new();
    private readonly List<OutboundMessage> _unacked = [];
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);
    private long _unackedBytes;
    private long _outSeq;
    private long _inSeq;
    private SessionConnection? _attached;
    private string? _endCode;

    public string Id => id;

    /// <summary>Cluster mode: one pull of the broker's history at a time (<see cref="SessionRegistry"/>).</summary>
    public SemaphoreSlim PullLock { get; } = new(1, 1);

    /// <summary>The highest outbound seq held (cluster mode: the last history entry pulled from the broker).</summary>
    public long OutSeq
    {
        get
        {
            lock (_gate)
            {
                return _outSeq;
            }
        }
    }

    public string ResumeToken => resumeToken;

    public TokenClaims Claims => claims;

    /// <summary>Its places in <see cref="DetachedSessions"/>' lists while it is detached (under that class's lock).</summary>
    public LinkedListNode<Session>? UserNode { get; set; }

    /// <inheritdoc cref="UserNode"/>
    public LinkedListNode<Session>? AllNode { get; set; }

    /// <summary>When it was detached (ticks of the registry's clock), or 0 while attached.</summary>
    public long DetachedAt { get; private set; }

    public bool IsEnded
    {
        get
        {
            lock (_gate)
            {
                return _endCode is not null;
            }
        }
    }

    public SessionConnection? Attached
    {
        get
        {
            lock (_gate)
            {
                return _attached;
            }
        }
    }

    public int UnacknowledgedCount
    {
        get
        {
            lock (_gate)
            {
                return _unacked.Count;
            }
        }
    }

    /// <summary>Attaches a connection; the client says it has received up to <paramref name="clientLastSeq"/>.
    /// Returns the connection it replaces, and the last client seq held (for the welcome). False when ended.</summary>
    public bool Attach(SessionConnection connection, long clientLastSeq, out SessionConnection? previous, out long lastSeq)
    {
        lock (_gate)
        {
            previous = _attached;
            lastSeq = _inSeq;
            if (_endCode is not null)
            {
                return false;
            }

            AcknowledgeLocked(clientLastSeq);
            _attached = connection;
            DetachedAt = 0;
            connection.SentUpTo = Math.Min(clientLastSeq, _outSeq);
            connection.AckSentUpTo = -1;
            return true;
        }
    }

    /// <summary>A new session counts as detached from <paramref name="now"/> until a connection attaches, so one never
    /// attached (its hello failed half way: the broker refused it) is swept after the retention like any detached one.</summary>
    public void NotAttachedSince(long now)
    {
        lock (_gate)
        {
            if (_attached is null && DetachedAt == 0)
            {
                DetachedAt = Math.Max(now, 1);
            }
        }
    }

    /// <summary>Detaches the connection if it is still the attached one (true) and the session has not ended.</summary>
    public bool Detach(SessionConnection connection, long now)
    {
        lock (_gate)
        {
            if (_attached != connection)
            {
                return false;
            }

            _attached = null;
            DetachedAt = Math.Max(now, 1);
            return _endCode is null;
        }
    }

    /// <summary>Adds a message for the client. False when the session has ended; on overflow it ends the session.</summary>
    public bool Enqueue(string? room, string? from, string bodyJson, out SessionConnection? wake)
    {
        lock (_gate)
        {
            wake = _attached;
            if (_endCode is not null)
            {
                return false;
            }

            int bytes = Encoding.UTF8.GetByteCount(bodyJson) + (room is null ? 0 : Encoding.UTF8.GetByteCount(room)) + (from is null ? 0 : Encoding.UTF8.GetByteCount(from));
            if (_unacked.Count >= maxUnacknowledged || _unackedBytes + bytes > maxUnacknowledgedBytes)
            {
                _endCode = "buffer_overflow";
                return false;
            }

            _unackedBytes += bytes;
            _unacked.Add(new OutboundMessage(++_outSeq, room, from, bodyJson, bytes));
            return true;
        }
    }

    /// <summary>Cluster mode: the seqs a session loaded from the broker starts from (before it is attached).</summary>
    public void Restore(long inSeq, long outSeq)
    {
        lock (_gate)
        {
            _inSeq = inSeq;
            _outSeq = outSeq;
        }
    }

    /// <summary>Cluster mode: the broker took a client message with this seq (its dispatch script deduplicated it).</summary>
    public void Received(long seq)
    {
        lock (_gate)
        {
            _inSeq = Math.Max(_inSeq, seq);
        }
    }

    /// <summary>Cluster mode: adds a message pulled from the broker's history with its seq there (one at or below the
    /// last held is skipped). False when the session has ended; past the caps it ends the session (buffer_overflow).</summary>
    public bool EnqueueStored(long seq, string? room, string? from, string bodyJson, out SessionConnection? wake)
    {
        lock (_gate)
        {
            wake = _attached;
            if (_endCode is not null)
            {
                return false;
            }

            if (seq <= _outSeq)
            {
                return true;
            }

            int bytes = Encoding.UTF8.GetByteCount(bodyJson) + (room is null ? 0 : Encoding.UTF8.GetByteCount(room)) + (from is null ? 0 : Encoding.UTF8.GetByteCount(from));
            if (_unacked.Count >= maxUnacknowledged || _unackedBytes + bytes > maxUnacknowledgedBytes)
            {
                _endCode = "buffer_overflow";
                return false;
            }

            _unackedBytes += bytes;
            _outSeq = seq;
            _unacked.Add(new OutboundMessage(seq, room, from, bodyJson, bytes));
            return true;
        }
    }

    /// <summary>Records an inbound seq. Returns 1 when new (in order), 0 when a duplicate, -1 when a gap.</summary>
    public int Receive(long seq)
    {
        lock (_gate)
        {
            if (seq <= _inSeq)
            {
                return 0;
            }

            if (seq != _inSeq + 1)
            {
                return -1;
            }

            _inSeq = seq;
            return 1;
        }
    }

    public void Acknowledge(long ack)
    {
        lock (_gate)
        {
            AcknowledgeLocked(ack);
        }
    }

    /// <summary>What <paramref name="connection"/> should send now: messages after its SentUpTo, and the ack to carry.
    /// False when the connection is no longer attached.</summary>
    public bool Collect(SessionConnection connection, List<OutboundMessage> into, out long ack, out bool ackPending)
    {
        lock (_gate)
        {
            ack = _inSeq;
            ackPending = false;
            if (_attached != connection)
            {
                return false;
            }

            long first = _unacked.Count > 0 ? _unacked[0].Seq : _outSeq + 1;
            int start = (int)Math.Max(0, connection.SentUpTo + 1 - first);
            for (int i = start; i < _unacked.Count; i++)
            {
                into.Add(_unacked[i]);
            }

            if (into.Count > 0)
            {
                connection.SentUpTo = into[^1].Seq;
            }

            ackPending = _inSeq > connection.AckSentUpTo;
            connection.AckSentUpTo = _inSeq;
            return true;
        }
    }

    /// <summary>Ends the session (first code wins). Returns the attached connection to close.</summary>
    public SessionConnection? End(string code)
    {
        lock (_gate)
        {
            _endCode ??= code;
            var attached = _attached;
            _attached = null;
            return attached;
        }
    }

    public string? EndCode
    {
        get
        {
            lock (_gate)
            {
                return _endCode;
            }
        }
    }

    /// <summary>Adds a room unless the session is in <paramref name="maxRooms"/> already. Added: a room it was not in.</summary>
    public RoomJoin JoinRoom(string room, int maxRooms, out bool added)
    {
        lock (_gate)
        {
            added = false;
            if (_rooms.Contains(room))
            {
                return RoomJoin.Member;
            }

            if (_rooms.Count >= maxRooms)
            {
                return RoomJoin.TooMany;
            }

            added = _rooms.Add(room);
            return RoomJoin.Member;
        }
    }

    public string[] Rooms()
    {
        lock (_gate)
        {
            return [.. _rooms];
        }
    }

    private void AcknowledgeLocked(long ack)
    {
        int n = 0;
        while (n < _unacked.Count && _unacked[n].Seq <= ack)
        {
            n++;
        }

        if (n > 0)
        {
            for (int i = 0; i < n; i++)
            {
                _unackedBytes -= _unacked[i].Bytes;
            }

            _unacked.RemoveRange(0, n);
        }
    }
}
