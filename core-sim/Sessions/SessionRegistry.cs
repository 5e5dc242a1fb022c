using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Cluster;
using Relay.Contracts.Sessions;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Sessions;

/// <summary>Every session, attached or detached; routes chat messages; expires detached sessions. In cluster mode
/// (CoreSim:Cluster:Redis, issue 20) the broker holds the truth (<see cref="ClusterState"/>): a session here is the
/// copy this node serves, its history pulled from the broker; without it, everything lives in this process.</summary>
internal sealed class SessionRegistry : IDisposable
{
    /// <summary>Outcome of <see cref="ReceiveAsync"/>: the broker is unavailable (close 1013).</summary>
    public const int BrokerUnavailable = -4;

    /// <summary>Outcome of <see cref="ReceiveAsync"/>: another node took the session (close 1000, session_taken_over).</summary>
    public const int TakenOver = -2;

    /// <summary>Outcome of <see cref="ReceiveAsync"/>: the session ended or expired in the broker (close 4004).</summary>
    public const int Ended = -3;

    private static readonly CloseReason TakenOverError = new("session_taken_over", "the session was resumed on another connection", CloseCodes.Normal);
    private static readonly CloseReason UnknownError = new("session_unknown", "the session is unknown or expired; start a new session", CloseCodes.SessionUnknown);
    private static readonly CloseReason UnavailableError = new("core_unavailable", "the core's shared state did not answer in time; reconnect with backoff and resume", CloseCodes.TryAgainLater);

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SessionConnection, byte> _connections = new();
    private readonly RoomDirectory _rooms = new();
    private readonly DetachedSessions _detached;
    private readonly CoreSimOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private int _sweeping;

    private readonly ClusterState? _cluster;

    public SessionRegistry(IOptions<CoreSimOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        _options = options.Value;
        _time = time;
        _detached = new DetachedSessions(_options.MaxDetachedSessionsPerUser, _options.MaxDetachedSessions);
        History = new RoomHistory(_options.HistoryPerRoom, _options.HistoryMaxRooms, _options.HistoryMaxBytes, time);
        if (!string.IsNullOrEmpty(_options.Cluster.Redis))
        {
            _cluster = new ClusterState(_options, time, loggers.CreateLogger("Relay.CoreSim.Cluster"));
            _cluster.Wake += id => _ = PullAsync(id);
            _cluster.Fenced += id => _ = FenceAsync(id);
            _cluster.Restored += () =>
            {
                foreach (var session in _sessions.Values)
                {
                    _ = PullAsync(session.Id);
                }
            };
        }

        _sweeper = time.CreateTimer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>The broker's state in cluster mode; null for the embedded state.</summary>
    public ClusterState? Cluster => _cluster;

    public int SessionCount => _sessions.Count;

    /// <summary>Sessions waiting for a resume (see <see cref="Detached"/>).</summary>
    public int DetachedCount => _detached.Count;

    /// <summary>Each room's last messages (issue 18: the history endpoint).</summary>
    public RoomHistory History { get; }

    public int DirectConnections => _connections.Keys.Count(c => !c.ViaRelay);

    public int RelayedConnections => _connections.Keys.Count(c => c.ViaRelay);

    public int RoomCount => _rooms.Count;

    /// <summary>Each connection that came through a relay: the relay and the client's address (null when unknown). Issue 17: where each region's users are.</summary>
    public IEnumerable<(string RelayId, System.Net.IPAddress? Client)> RelayedClients() =>
        _connections.Keys.Where(c => c.RelayId is not null).Select(c => (c.RelayId!, c.ClientAddress));

    public long Now => _time.GetTimestamp();

    /// <summary>A new session (cluster mode: stored in the broker, owned by this node; throws <see cref="BrokerUnavailableException"/>).</summary>
    public async ValueTask<Session> CreateAsync(TokenClaims claims)
    {
        var session = NewSession(Guid.NewGuid().ToString("N"), System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)), claims);
        if (_cluster is not null)
        {
            await _cluster.CreateAsync(session.Id, session.ResumeToken, claims).ConfigureAwait(false);
        }

        _sessions[session.Id] = session;
        return session;
    }

    /// <summary>Issue 22: a session under the id and resume token its relay minted (the edge welcome). Null when the id is
    /// already taken (a collision or a relay reusing an id): the caller refuses, so no relay can take over a session.
    /// Cluster mode: the id must be free in the broker too (throws <see cref="BrokerUnavailableException"/>).</summary>
    public async ValueTask<Session?> AdoptAsync(string id, string resumeToken, TokenClaims claims)
    {
        var session = NewSession(id, resumeToken, claims);
        if (!_sessions.TryAdd(id, session))
        {
            return null;
        }

        bool adopted = false;
        try
        {
            adopted = _cluster is null || await _cluster.TryAdoptAsync(id, resumeToken, claims).ConfigureAwait(false);
        }
        finally
        {
            if (!adopted)
            {
                _sessions.TryRemove(new KeyValuePair<string, Session>(id, session)); // refused, or the broker did not answer (1013)
            }
        }

        return adopted ? session : null;
    }

    /// <summary>The session a resume names (see <see cref="FindForResume"/>). Cluster mode: from the broker, on any node:
    /// this node takes the ownership lease (fencing the node that had it) and loads the history after
    /// <paramref name="clientLastSeq"/>. Throws <see cref="BrokerUnavailableException"/>.</summary>
    public async ValueTask<Session?> FindForResumeAsync(string? id, string? resumeToken, TokenClaims claims, long clientLastSeq)
    {
        if (_cluster is null)
        {
            return FindForResume(id, resumeToken, claims);
        }

        if (id is null || resumeToken is null || id.Length > 64)
        {
            return null;
        }

        var stored = await _cluster.LoadAsync(id).ConfigureAwait(false);
        if (stored is null || !TokenMatches(resumeToken, stored.ResumeToken) || stored.Subject != claims.Subject || stored.Site != claims.Site)
        {
            return null;
        }

        string? previousOwner = await _cluster.TakeAsync(id).ConfigureAwait(false);
        if (previousOwner == _cluster.Node && _sessions.TryGetValue(id, out var local) && !local.IsEnded)
        {
            await PullAsync(local).ConfigureAwait(false);
            return local; // this node served it all along: its copy is current
        }

        // Another node served it (or none): drop any stale copy here and build it from the broker.
        if (_sessions.TryRemove(id, out var stale))
        {
            Forget(stale, "session_taken_over", TakenOverError);
        }

        var session = NewSession(id, stored.ResumeToken, claims);
        long baseline = Math.Min(Math.Max(0, clientLastSeq), stored.OutSeq);
        session.Restore(stored.InSeq, baseline);
        foreach (var room in stored.Rooms.Take(_options.MaxRoomsPerSession))
        {
            session.JoinRoom(room, _options.MaxRoomsPerSession, out bool added);
            if (added)
            {
                _rooms.Join(RoomDirectory.Key(session.Claims.Site, room), session);
            }
        }

        _sessions[id] = session;
        await PullAsync(session).ConfigureAwait(false);
        return session.IsEnded ? null : session;
    }

    /// <summary>The session a resume names, when the token and subject match and it has not ended.</summary>
    public Session? FindForResume(string? id, string? resumeToken, TokenClaims claims)
    {
        if (id is null || resumeToken is null || !_sessions.TryGetValue(id, out var session) || session.IsEnded)
        {
            return null;
        }

        return TokenMatches(resumeToken, session.ResumeToken) && session.Claims.Subject == claims.Subject && session.Claims.Site == claims.Site ? session : null;
    }

    public Session? Find(string id) => _sessions.TryGetValue(id, out var s) ? s : null;

    /// <summary>A session's connection has gone (<see cref="Session.Detach"/> said so): it waits for a resume, within
    /// CoreSim:MaxDetachedSessionsPerUser of its user's and CoreSim:MaxDetachedSessions in all (this node's); past either,
    /// the one detached longest ends, in the broker too in cluster mode (its resume gets session_unknown, 4004).</summary>
    public void Detached(Session session)
    {
        if (_detached.Add(session) is { } evict)
        {
            foreach (var oldest in evict)
            {
                // Ended here and in the broker (cluster mode: unless another node owns it now, i.e. it resumed there), so
                // the cap bounds what the broker keeps too, not only this node's copies.
                Terminate(oldest, "expired", "session expired", CloseCodes.SessionUnknown);
            }
        }
    }

    /// <summary>A detached session attached again (a resume): it no longer counts against the caps of <see cref="Detached"/>.</summary>
    public void Resumed(Session session) => _detached.Remove(session);

    public void Track(SessionConnection connection) => _connections[connection] = 0;

    public void Untrack(SessionConnection connection) => _connections.TryRemove(connection, out _);

    /// <summary>Puts the session in a room of its site when its claims allow it (<see cref="RoomPolicy"/>) and it is in
    /// fewer than CoreSim:MaxRoomsPerSession rooms.</summary>
    public async ValueTask<RoomJoin> JoinRoomAsync(Session session, string room)
    {
        if (!RoomPolicy.MayJoin(session.Claims, room))
        {
            return RoomJoin.Forbidden;
        }

        var result = session.JoinRoom(room, _options.MaxRoomsPerSession, out bool added);
        if (added)
        {
            if (_cluster is not null)
            {
                await _cluster.JoinRoomAsync(session.Id, session.Claims.Site, room).ConfigureAwait(false);
            }

            var key = RoomDirectory.Key(session.Claims.Site, room);
            _rooms.Join(key, session);
            if (session.IsEnded)
            {
                _rooms.Leave(key, session); // ended meanwhile (overflow from another session's message): Terminate may have missed this room
            }
        }

        return result;
    }

    /// <summary>Takes a client message with its seq: 1 new (delivered), 0 duplicate, -1 gap; cluster mode also
    /// <see cref="TakenOver"/>, <see cref="Ended"/>, <see cref="BrokerUnavailable"/>.</summary>
    public async ValueTask<int> ReceiveAsync(Session from, long seq, string? room, string bodyJson)
    {
        if (_cluster is null)
        {
            int result = from.Receive(seq);
            if (result == 1)
            {
                Dispatch(from, room, bodyJson);
            }

            return result;
        }

        DispatchOutcome outcome;
        try
        {
            outcome = await _cluster.DispatchAsync(from.Id, from.Claims.Site, seq, room, from.Claims.Subject, bodyJson).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException)
        {
            return BrokerUnavailable;
        }

        if (outcome.Code == 1)
        {
            from.Received(seq);
            foreach (var target in outcome.LocalTargets)
            {
                if (_sessions.TryGetValue(target, out var local))
                {
                    if (ReferenceEquals(local, from))
                    {
                        await PullAsync(local).ConfigureAwait(false); // echo: in the history before the ack goes out
                    }
                    else
                    {
                        _ = PullAsync(local);
                    }
                }
            }
        }

        return outcome.Code;
    }

    /// <summary>The client acknowledged up to <paramref name="ack"/> (cluster mode: the broker drops that history too).</summary>
    public void Acknowledge(Session session, long ack)
    {
        session.Acknowledge(ack);
        _cluster?.Trim(session.Id, ack);
    }

    /// <summary>Delivers a new client message: to every other member of its room (the sender is a member: see
    /// <see cref="JoinRoom"/>), or back to the sender with no room.</summary>
    public void Dispatch(Session from, string? room, string bodyJson)
    {
        if (room is null)
        {
            Deliver(from, null, null, bodyJson);
            return;
        }

        History.Add(RoomDirectory.Key(from.Claims.Site, room), from.Claims.Subject, bodyJson);

        foreach (var member in _rooms.Members(RoomDirectory.Key(from.Claims.Site, room)))
        {
            if (!ReferenceEquals(member, from))
            {
                Deliver(member, room, from.Claims.Subject, bodyJson);
            }
        }
    }

    /// <summary>
    /// A message sent by REST (issue 18, <c>POST /api/rooms/{room}/messages</c>): into the room's history and to every
    /// session in the room, as a websocket message from <paramref name="from"/> would be. Returns its history id and
    /// how many sessions it went to. In cluster mode through the broker (<see cref="ClusterState.PostAsync"/>: every
    /// node's members, numbered with their other messages); <see cref="BrokerUnavailableException"/> when it does not answer.
    /// </summary>
    public async Task<(long Id, int Delivered)> PostAsync(string site, string room, string from, string bodyJson)
    {
        if (_cluster is null)
        {
            return Post(site, room, from, bodyJson);
        }

        var (id, delivered, local) = await _cluster.PostAsync(site, room, from, bodyJson).ConfigureAwait(false);
        foreach (var target in local)
        {
            _ = PullAsync(target);
        }

        return (id, delivered);
    }

    private (long Id, int Delivered) Post(string site, string room, string from, string bodyJson)
    {
        var key = RoomDirectory.Key(site, room);
        long id = History.Add(key, from, bodyJson);
        var members = _rooms.Members(key);
        foreach (var member in members)
        {
            Deliver(member, room, from, bodyJson);
        }

        return (id, members.Length);
    }

    /// <summary>Closes up to <paramref name="count"/> attached connections with <paramref name="code"/> (failover drills). Returns how many.</summary>
    public int Kick(int count, int code, string reason)
    {
        int n = 0;
        foreach (var connection in _connections.Keys)
        {
            if (n >= count)
            {
                break;
            }

            connection.Close(code, reason);
            n++;
        }

        return n;
    }

    /// <summary>Ends a session for good (overflow, expiry), closing its connection with an error first.</summary>
    public void Terminate(Session session, string code, string message, int closeCode, long? seq = null)
    {
        var attached = session.End(code);
        _detached.Remove(session);
        _sessions.TryRemove(new KeyValuePair<string, Session>(session.Id, session));
        foreach (var room in session.Rooms())
        {
            _rooms.Leave(RoomDirectory.Key(session.Claims.Site, room), session);
        }

        if (_cluster is not null)
        {
            _ = EndInBrokerAsync(session);
        }

        attached?.CloseWithError(code, message, closeCode, seq);
    }

    /// <summary>Cluster mode: the session ids this node serves with their site and rooms (lease renewal), and how many.</summary>
    public List<(string Id, string Site, string[] Rooms)> Served() =>
        [.. _sessions.Values.Where(s => s.Attached is not null).Select(s => (s.Id, s.Claims.Site, s.Rooms()))];

    /// <summary>Cluster mode: acts on what the lease renewal found (<see cref="ClusterState.HeartbeatAsync"/>): a lease taken
    /// again pulls the session's history (wake-ups sent while nobody held it went nowhere); a session another node owns
    /// is dropped here with session_taken_over; one the broker no longer knows with session_unknown (4004), so its
    /// client starts a fresh session and resends its outbox instead of waiting on a session nothing reaches.</summary>
    public void ApplyLeases(IReadOnlyList<(string Id, LeaseState State)> report)
    {
        foreach (var (id, state) in report)
        {
            if (!_sessions.TryGetValue(id, out var session))
            {
                continue;
            }

            switch (state)
            {
                case LeaseState.Retaken:
                    _ = PullAsync(session);
                    break;
                case LeaseState.Taken:
                    Forget(session, "session_taken_over", TakenOverError);
                    break;
                case LeaseState.Gone:
                    Forget(session, "session_unknown", UnknownError);
                    break;
            }
        }
    }

    public void Dispose() => _sweeper.Dispose();

    private Session NewSession(string id, string resumeToken, TokenClaims claims)
    {
        var session = new Session(id, resumeToken, claims, _options.MaxUnacknowledged, _options.MaxUnacknowledgedBytes);
        session.NotAttachedSince(_time.GetTimestamp());
        return session;
    }

    private static bool TokenMatches(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected));

    private async Task EndInBrokerAsync(Session session)
    {
        try
        {
            await _cluster!.EndAsync(session.Id, session.Claims.Site).ConfigureAwait(false);
        }
        catch (BrokerUnavailableException)
        {
            // the keys expire by their TTL (CoreSim:SessionRetention)
        }
    }

    /// <summary>Drops this node's copy of a session (nothing in the broker changes), closing its connection with
    /// <paramref name="close"/>: taken over (another node serves it now), unknown (the broker lost it: 4004), or
    /// core_unavailable (1013: whether it was taken cannot be told now; the client resumes, here or elsewhere).</summary>
    private void Forget(Session session, string code, CloseReason close)
    {
        var attached = session.End(code);
        _detached.Remove(session);
        _sessions.TryRemove(new KeyValuePair<string, Session>(session.Id, session));
        foreach (var room in session.Rooms())
        {
            _rooms.Leave(RoomDirectory.Key(session.Claims.Site, room), session);
        }

        attached?.CloseWithError(close.Code, close.Message, close.CloseCode);
    }

    private async Task FenceAsync(string id)
    {
        if (!_sessions.TryGetValue(id, out var session))
        {
            return;
        }

        try
        {
            if (await _cluster!.OwnsAsync(id).ConfigureAwait(false))
            {
                return; // a fence from before this node took it back
            }
        }
        catch (BrokerUnavailableException)
        {
            // Cannot tell whether it was taken: not session_taken_over (1000, the SDK would stop for good) but 1013; the
            // client resumes with backoff wherever the relay sends it.
            Forget(session, "core_unavailable", UnavailableError);
            return;
        }

        Forget(session, "session_taken_over", TakenOverError);
    }

    private Task PullAsync(string id) => _sessions.TryGetValue(id, out var session) ? PullAsync(session) : Task.CompletedTask;

    /// <summary>Cluster mode: brings the session's history from the broker into this copy and wakes its writer.</summary>
    private async Task PullAsync(Session session)
    {
        if (!await session.PullLock.WaitAsync(_options.Cluster.BrokerTimeout * 2).ConfigureAwait(false))
        {
            return;
        }

        try
        {
            var (messages, endCode) = await _cluster!.ReadAsync(session.Id, session.OutSeq).ConfigureAwait(false);
            SessionConnection? wake = null;
            foreach (var m in messages)
            {
                if (!session.EnqueueStored(m.Seq, m.Room, m.From, m.BodyJson, out wake))
                {
                    break;
                }
            }

            if (endCode == "buffer_overflow" || session.EndCode == "buffer_overflow")
            {
                Terminate(session, "buffer_overflow", $"more than {_options.MaxUnacknowledged} messages or {_options.MaxUnacknowledgedBytes} bytes unacknowledged by the client; session ended", CloseCodes.Policy);
                return;
            }

            wake?.Wake();
        }
        catch (BrokerUnavailableException)
        {
            // the next wake-up or resume pulls again; the client's resume replays from the broker
        }
        finally
        {
            session.PullLock.Release();
        }
    }

    private void Deliver(Session to, string? room, string? from, string bodyJson)
    {
        if (to.Enqueue(room, from, bodyJson, out var wake))
        {
            wake?.Wake();
        }
        else if (to.EndCode == "buffer_overflow")
        {
            Terminate(to, "buffer_overflow", $"more than {_options.MaxUnacknowledged} messages or {_options.MaxUnacknowledgedBytes} bytes unacknowledged by the client; session ended", CloseCodes.Policy);
        }
    }

    private void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }

        try
        {
            long now = _time.GetTimestamp();
            foreach (var session in _sessions.Values)
            {
                long detached = session.DetachedAt;
                if (detached != 0 && session.Attached is null && _time.GetElapsedTime(detached, now) > _options.SessionRetention)
                {
                    Expire(session);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    /// <summary>Ends a detached session kept past SessionRetention (cluster mode: this node's copy only).</summary>
    private void Expire(Session session)
    {
        if (_cluster is not null)
        {
            Forget(session, "expired", TakenOverError); // the broker's keys expire by their own TTL; another node may serve it
        }
        else
        {
            Terminate(session, "expired", "session expired", CloseCodes.SessionUnknown);
        }
    }
}
