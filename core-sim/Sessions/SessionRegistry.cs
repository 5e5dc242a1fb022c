using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Relay.Contracts.Sessions;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Sessions;

/// <summary>Every session, attached or detached; routes chat messages; expires detached sessions.</summary>
internal sealed class SessionRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<SessionConnection, byte> _connections = new();
    private readonly RoomDirectory _rooms = new();
    private readonly CoreSimOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private int _sweeping;

    public SessionRegistry(IOptions<CoreSimOptions> options, TimeProvider time)
    {
        _options = options.Value;
        _time = time;
        History = new RoomHistory(_options.HistoryPerRoom, _options.HistoryMaxRooms, time);
        _sweeper = time.CreateTimer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public int SessionCount => _sessions.Count;

    /// <summary>Each room's last messages (issue 18: the history endpoint).</summary>
    public RoomHistory History { get; }

    public int DirectConnections => _connections.Keys.Count(c => !c.ViaRelay);

    public int RelayedConnections => _connections.Keys.Count(c => c.ViaRelay);

    public int RoomCount => _rooms.Count;

    /// <summary>Each connection that came through a relay: the relay and the client's address (null when unknown). Issue 17: where each region's users are.</summary>
    public IEnumerable<(string RelayId, System.Net.IPAddress? Client)> RelayedClients() =>
        _connections.Keys.Where(c => c.RelayId is not null).Select(c => (c.RelayId!, c.ClientAddress));

    public long Now => _time.GetTimestamp();

    public Session Create(TokenClaims claims)
    {
        var session = new Session(Guid.NewGuid().ToString("N"), System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24)), claims, _options.MaxUnacknowledged, _options.MaxUnacknowledgedBytes);
        _sessions[session.Id] = session;
        return session;
    }

    /// <summary>Issue 22: a session under the id and resume token its relay minted (the edge welcome). Null when the id is
    /// already taken (a collision or a relay reusing an id): the caller refuses, so no relay can take over a session.</summary>
    public Session? Adopt(string id, string resumeToken, TokenClaims claims)
    {
        var session = new Session(id, resumeToken, claims, _options.MaxUnacknowledged, _options.MaxUnacknowledgedBytes);
        return _sessions.TryAdd(id, session) ? session : null;
    }

    /// <summary>The session a resume names, when the token and subject match and it has not ended.</summary>
    public Session? FindForResume(string? id, string? resumeToken, TokenClaims claims)
    {
        if (id is null || resumeToken is null || !_sessions.TryGetValue(id, out var session) || session.IsEnded)
        {
            return null;
        }

        bool tokenOk = CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(resumeToken), System.Text.Encoding.UTF8.GetBytes(session.ResumeToken));
        return tokenOk && session.Claims.Subject == claims.Subject && session.Claims.Site == claims.Site ? session : null;
    }

    public Session? Find(string id) => _sessions.TryGetValue(id, out var s) ? s : null;

    public void Track(SessionConnection connection) => _connections[connection] = 0;

    public void Untrack(SessionConnection connection) => _connections.TryRemove(connection, out _);

    /// <summary>Puts the session in a room of its site when its claims allow it (<see cref="RoomPolicy"/>) and it is in
    /// fewer than CoreSim:MaxRoomsPerSession rooms.</summary>
    public RoomJoin JoinRoom(Session session, string room)
    {
        if (!RoomPolicy.MayJoin(session.Claims, room))
        {
            return RoomJoin.Forbidden;
        }

        var result = session.JoinRoom(room, _options.MaxRoomsPerSession, out bool added);
        if (added)
        {
            var key = RoomDirectory.Key(session.Claims.Site, room);
            _rooms.Join(key, session);
            if (session.IsEnded)
            {
                _rooms.Leave(key, session); // ended meanwhile (overflow from another session's message): Terminate may have missed this room
            }
        }

        return result;
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
    /// how many sessions it went to.
    /// </summary>
    public (long Id, int Delivered) Post(string site, string room, string from, string bodyJson)
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
    public void Terminate(Session session, string code, string message, int closeCode)
    {
        var attached = session.End(code);
        _sessions.TryRemove(new KeyValuePair<string, Session>(session.Id, session));
        foreach (var room in session.Rooms())
        {
            _rooms.Leave(RoomDirectory.Key(session.Claims.Site, room), session);
        }

        attached?.CloseWithError(code, message, closeCode);
    }

    public void Dispose() => _sweeper.Dispose();

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
                    Terminate(session, "expired", "session expired", CloseCodes.SessionUnknown);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}
