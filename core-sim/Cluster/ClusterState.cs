using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;
using StackExchange.Redis;

namespace Relay.CoreSim.Cluster;

/// <summary>
/// Cluster mode (issue 20): the sessions' shared state in Redis: each session's hash (resume token, claims, inbound and
/// outbound seq), its history stream (what the client has not acknowledged, replayed on resume on any node), its rooms,
/// and its owner key (a lease: the node serving it). Every call is bounded by CoreSim:Cluster:BrokerTimeout; a call
/// that fails throws <see cref="BrokerUnavailableException"/>.
/// </summary>
internal sealed partial class ClusterState : IAsyncDisposable
{
    // Sessions per renewal script: one script holds the broker for its whole run.
    private const int RenewChunk = 256;

    private readonly ClusterOptions _options;
    private readonly string _node;
    private readonly string _prefix;
    private readonly TimeSpan _retention;
    private readonly int _maxHistory;
    private readonly int _maxHistoryBytes;
    private readonly int _roomHistory;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private ConnectionMultiplexer? _redis;
    private readonly Action<RedisChannel, RedisValue> _onMessage;
    private double? _pingMs;
    private string? _lastError;
    private int _subscribed;
    private int _subscribing;

    public ClusterState(CoreSimOptions options, TimeProvider time, ILogger logger)
    {
        _options = options.Cluster;
        _node = options.NodeId;
        _prefix = _options.KeyPrefix;
        _retention = options.SessionRetention;
        _maxHistory = options.MaxUnacknowledged;
        _maxHistoryBytes = options.MaxUnacknowledgedBytes;
        _roomHistory = options.HistoryPerRoom;
        _time = time;
        _logger = logger;
        _onMessage = OnMessage;
    }

    /// <summary>New history for a session this node serves ("w:ID" on the node's channel).</summary>
    public event Action<string>? Wake;

    /// <summary>Another node took a session this node served ("f:ID").</summary>
    public event Action<string>? Fenced;

    /// <summary>The connection came back after a loss: wake-ups may have been missed.</summary>
    public event Action? Restored;

    public string Broker => _options.Redis!;

    public string Node => _node;

    public TimeSpan LeaseTime => _options.LeaseTime;

    /// <summary>Connected, subscribed to this node's channel, and the last heartbeat's PING answered within the broker timeout.</summary>
    public bool Healthy => _redis is { IsConnected: true } && _lastError is null && Volatile.Read(ref _subscribed) != 0;

    /// <summary>Why the broker is not healthy, or null.</summary>
    public string? Problem => _redis is not { IsConnected: true } ? "broker unreachable"
        : _lastError ?? (Volatile.Read(ref _subscribed) == 0 ? "not subscribed to the broker yet" : null);

    public double? PingMs => _pingMs;

    private RedisChannel NodeChannel => RedisChannel.Literal(_prefix + "node:" + _node);

    private IDatabase Db => (_redis ?? throw new BrokerUnavailableException("broker not connected", null)).GetDatabase();

    /// <summary>Connects to the broker. Returns even when the broker is down (the node starts, not ready: readiness says
    /// why, sessions get 1013): the connection comes back by itself and the heartbeat subscribes to this node's channel
    /// (<see cref="EnsureSubscribedAsync"/>) once the broker answers.</summary>
    public async Task ConnectAsync()
    {
        var config = ConfigurationOptions.Parse(_options.Redis!);
        config.AbortOnConnectFail = false; // start even when the broker is down: readiness says so, sessions get 1013
        config.ConnectTimeout = (int)_options.BrokerTimeout.TotalMilliseconds;
        config.SyncTimeout = (int)_options.BrokerTimeout.TotalMilliseconds;
        config.AsyncTimeout = (int)_options.BrokerTimeout.TotalMilliseconds;
        config.ConnectRetry = 1;
        config.ClientName = "core-sim-" + _node;
        _redis = await ConnectionMultiplexer.ConnectAsync(config).ConfigureAwait(false);
        _redis.ConnectionRestored += (_, e) =>
        {
            if (e.ConnectionType == ConnectionType.Subscription)
            {
                Restored?.Invoke();
            }

            _ = EnsureSubscribedAsync(); // not subscribed yet (the broker was down at start): now it answers
        };
        _redis.ConnectionFailed += (_, e) => Log.BrokerLost(_logger, e.FailureType.ToString(), e.Exception?.Message);
        await EnsureSubscribedAsync().ConfigureAwait(false);
        Log.Connected(_logger, _options.Redis!, _node, _redis.IsConnected);
    }

    /// <summary>Subscribes to this node's channel (wake-ups and fences) unless it is subscribed already. A failure is a
    /// value: not subscribed, not ready (<see cref="Healthy"/>); the heartbeat and a restored connection try again.
    /// Once subscribed the client library subscribes again by itself after a reconnection.</summary>
    public async Task EnsureSubscribedAsync()
    {
        if (_redis is not { } redis || Volatile.Read(ref _subscribed) != 0 || Interlocked.Exchange(ref _subscribing, 1) != 0)
        {
            return;
        }

        try
        {
            var subscriber = redis.GetSubscriber();
            try
            {
                // A failed attempt may have left the handler registered in the client: never twice.
                subscriber.Unsubscribe(NodeChannel, _onMessage, CommandFlags.FireAndForget);
            }
            catch (RedisException)
            {
            }

            await subscriber.SubscribeAsync(NodeChannel, _onMessage).WaitAsync(_options.BrokerTimeout, _time).ConfigureAwait(false);
            Volatile.Write(ref _subscribed, 1);
            Log.Subscribed(_logger, _node);
            Restored?.Invoke(); // wake-ups sent before this are not coming: every session pulls its history
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Log.SubscribeFailed(_logger, _node, e.Message);
        }
        finally
        {
            Volatile.Write(ref _subscribing, 0);
        }
    }

    private void OnMessage(RedisChannel channel, RedisValue message)
    {
        string text = message.ToString();
        if (text.Length > 2 && text.Length < 200)
        {
            if (text.StartsWith("w:", StringComparison.Ordinal))
            {
                Wake?.Invoke(text[2..]);
            }
            else if (text.StartsWith("f:", StringComparison.Ordinal))
            {
                Fenced?.Invoke(text[2..]);
            }
        }
    }

    /// <summary>Stores a new session, owned by this node.</summary>
    public Task CreateAsync(string id, string resumeToken, TokenClaims claims) => Run(async db =>
    {
        string s = SessionKey(id);
        var batch = db.CreateBatch();
        var set = batch.HashSetAsync(s, [new("tok", resumeToken), new("sub", claims.Subject), new("site", claims.Site), new("role", claims.Role), new("in", 0), new("out", 0)]);
        var expire = batch.KeyExpireAsync(s, _retention);
        var own = batch.StringSetAsync(s + ":own", _node, _options.LeaseTime);
        batch.Execute();
        await Task.WhenAll(set, expire, own).ConfigureAwait(false);
        return true;
    });

    /// <summary>Issue 22: stores a session under the id and resume token its relay minted, only when no session holds that
    /// id yet (false: taken, so a relay cannot take over a session). Owned by this node.</summary>
    public Task<bool> TryAdoptAsync(string id, string resumeToken, TokenClaims claims) => Run(async db =>
    {
        string s = SessionKey(id);
        var transaction = db.CreateTransaction();
        transaction.AddCondition(Condition.KeyNotExists(s));
        _ = transaction.HashSetAsync(s, [new("tok", resumeToken), new("sub", claims.Subject), new("site", claims.Site), new("role", claims.Role), new("in", 0), new("out", 0)]);
        _ = transaction.KeyExpireAsync(s, _retention);
        _ = transaction.StringSetAsync(s + ":own", _node, _options.LeaseTime);
        return await transaction.ExecuteAsync().ConfigureAwait(false);
    });

    /// <summary>A stored session (null: unknown, expired or ended), with its rooms.</summary>
    public Task<StoredSession?> LoadAsync(string id) => Run(async db =>
    {
        string s = SessionKey(id);
        var batch = db.CreateBatch();
        var fields = batch.HashGetAllAsync(s);
        var rooms = batch.SetMembersAsync(s + ":r");
        batch.Execute();
        var map = (await fields.ConfigureAwait(false)).ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal);
        var roomNames = await rooms.ConfigureAwait(false);
        if (map.ContainsKey("end") || !map.TryGetValue("tok", out var token) || !map.TryGetValue("sub", out var sub) || !map.TryGetValue("site", out var site)
            || !long.TryParse(map.GetValueOrDefault("in"), out long inSeq) || !long.TryParse(map.GetValueOrDefault("out"), out long outSeq))
        {
            return (StoredSession?)null;
        }

        return new StoredSession(id, token, sub, site, map.GetValueOrDefault("role") ?? string.Empty, inSeq, outSeq, [.. roomNames.Select(r => r.ToString())]);
    });

    /// <summary>Makes this node the session's owner (the lease); the node that owned it is told it is fenced. Returns that node, or null.</summary>
    public Task<string?> TakeAsync(string id) => Run(async db =>
    {
        string s = SessionKey(id);
        var previous = await db.StringSetAndGetAsync(s + ":own", _node, _options.LeaseTime).ConfigureAwait(false);
        string? before = previous.IsNull ? null : previous.ToString();
        if (before is not null && before != _node)
        {
            await db.PublishAsync(RedisChannel.Literal(_prefix + "node:" + before), "f:" + id).ConfigureAwait(false);
        }

        return before;
    });

    /// <summary>Whether this node owns the session now.</summary>
    public Task<bool> OwnsAsync(string id) => Run(async db => (await db.StringGetAsync(SessionKey(id) + ":own").ConfigureAwait(false)) == _node);

    /// <summary>The session's history after <paramref name="afterSeq"/> (in order), and its end code when the broker ended it (overflow).</summary>
    public Task<(List<StoredMessage> Messages, string? EndCode)> ReadAsync(string id, long afterSeq) => Run(async db =>
    {
        string s = SessionKey(id);
        var batch = db.CreateBatch();
        var range = batch.StreamRangeAsync(s + ":h", $"{afterSeq + 1}-0", "+", count: _maxHistory + 1);
        var end = batch.HashGetAsync(s, "end");
        batch.Execute();
        var entries = await range.ConfigureAwait(false);
        var messages = new List<StoredMessage>(entries.Length);
        foreach (var entry in entries)
        {
            if (EntryNumber(entry) is not { } seq)
            {
                continue;
            }

            string? room = null, from = null, body = null;
            foreach (var value in entry.Values)
            {
                switch (value.Name.ToString())
                {
                    case "r": room = value.Value.ToString(); break;
                    case "f": from = value.Value.ToString(); break;
                    case "b": body = value.Value.ToString(); break;
                }
            }

            if (body is not null)
            {
                messages.Add(new StoredMessage(seq, room, from, body));
            }
        }

        var endValue = await end.ConfigureAwait(false);
        return (messages, endValue.IsNull ? null : endValue.ToString());
    });

    /// <summary>Runs a client message through the broker (<see cref="ClusterScripts.Dispatch"/>).</summary>
    public Task<DispatchOutcome> DispatchAsync(string id, string site, long seq, string? room, string from, string bodyJson) => Run(async db =>
    {
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(ClusterScripts.Dispatch, values:
        [
            _prefix, id, _node, seq, room is null ? string.Empty : RoomKey(site, room), room ?? string.Empty, from, bodyJson,
            _maxHistory, (long)_retention.TotalMilliseconds, (long)_options.LeaseTime.TotalMilliseconds, _maxHistoryBytes,
            _roomHistory, _time.GetUtcNow().ToUnixTimeMilliseconds(),
        ]).ConfigureAwait(false))!;
        return new DispatchOutcome((int)result[0], Strings(result, 1));
    });

    /// <summary>Issue 18 in cluster mode: a message posted by REST to a room of a site (<see cref="ClusterScripts.Post"/>):
    /// its number in the room's history, how many members it went to, and those this node serves.</summary>
    public Task<(long Id, int Delivered, string[] LocalTargets)> PostAsync(string site, string room, string from, string bodyJson) => Run(async db =>
    {
        var result = (RedisResult[])(await db.ScriptEvaluateAsync(ClusterScripts.Post, values:
        [
            _prefix, RoomKey(site, room), room, from, bodyJson, _maxHistory, (long)_retention.TotalMilliseconds, _maxHistoryBytes, _node,
            _roomHistory, _time.GetUtcNow().ToUnixTimeMilliseconds(),
        ]).ConfigureAwait(false))!;
        return ((long)result[0], (int)result[1], Strings(result, 2));
    });

    /// <summary>Up to <paramref name="limit"/> messages of a room's history in the broker older than
    /// <paramref name="before"/> (all when null), oldest first.</summary>
    public Task<StoredRoomMessage[]> HistoryPageAsync(string site, string room, long? before, int limit) => Run(async db =>
    {
        var entries = await db.StreamRangeAsync(RoomKey(site, room) + ":h", "-", before is { } b ? $"{b - 1}-1" : "+", count: limit, messageOrder: Order.Descending).ConfigureAwait(false);
        var page = new List<StoredRoomMessage>(entries.Length);
        foreach (var entry in entries.Reverse())
        {
            if (EntryNumber(entry) is not { } id)
            {
                continue;
            }

            string from = entry["f"].ToString();
            string body = entry["b"].ToString();
            long at = (long)entry["t"];
            page.Add(new StoredRoomMessage(id, from, body, DateTimeOffset.FromUnixTimeMilliseconds(at)));
        }

        return page.ToArray();
    });

    /// <summary>The number N of a history entry (stream entry id "N-1": a seq, or a room's message number); null when not one.</summary>
    private static long? EntryNumber(StreamEntry entry)
    {
        string entryId = entry.Id.ToString();
        int dash = entryId.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && long.TryParse(entryId.AsSpan(0, dash), out long n) ? n : null;
    }

    private static string[] Strings(RedisResult[] result, int from)
    {
        var strings = new string[Math.Max(0, result.Length - from)];
        for (int i = from; i < result.Length; i++)
        {
            strings[i - from] = result[i].ToString();
        }

        return strings;
    }

    /// <summary>Adds the session to a room of its site.</summary>
    public Task JoinRoomAsync(string id, string site, string room) => Run(async db =>
    {
        string roomKey = RoomKey(site, room);
        string s = SessionKey(id);
        var batch = db.CreateBatch();
        var add = batch.SetAddAsync(roomKey, id);
        var mine = batch.SetAddAsync(s + ":r", room);
        var e1 = batch.KeyExpireAsync(roomKey, _retention * 2);
        var e2 = batch.KeyExpireAsync(s + ":r", _retention);
        batch.Execute();
        await Task.WhenAll(add, mine, e1, e2).ConfigureAwait(false);
        return true;
    });

    /// <summary>Drops acknowledged history and its bytes (<see cref="ClusterScripts.Trim"/>; fire and forget: a lost trim only
    /// keeps history longer, within its limits, and the next one takes what it left).</summary>
    public void Trim(string id, long ack)
    {
        if (_redis is { IsConnected: true } redis)
        {
            redis.GetDatabase().ScriptEvaluate(ClusterScripts.Trim, values: [SessionKey(id), ack], flags: CommandFlags.FireAndForget);
        }
    }

    /// <summary>Ends a session for good in the broker unless another node owns it now.</summary>
    public Task EndAsync(string id, string site) => Run(async db =>
    {
        await db.ScriptEvaluateAsync(ClusterScripts.End, values: [_prefix, id, _node, site]).ConfigureAwait(false);
        return true;
    });

    /// <summary>Renews the lease of the sessions this node serves and the TTL of their keys (<see cref="ClusterScripts.Renew"/>:
    /// a lease that ran out while the broker was away is taken again); records this node's heartbeat (sessions, time) and
    /// measures the broker's round trip. Returns the sessions whose lease was not simply kept (empty when the broker did
    /// not answer: nothing is known then).</summary>
    public async Task<IReadOnlyList<(string Id, LeaseState State)>> HeartbeatAsync(IReadOnlyCollection<(string Id, string Site, string[] Rooms)> served, int sessions, string? httpUri)
    {
        if (_redis is null)
        {
            return [];
        }

        await EnsureSubscribedAsync().ConfigureAwait(false);
        try
        {
            var db = _redis.GetDatabase();
            var started = Stopwatch.GetTimestamp();
            await db.PingAsync().ConfigureAwait(false);
            _pingMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var batch = db.CreateBatch();
            var tasks = new List<Task>(served.Count + 1);
            var renewals = new List<Task<RedisResult>>(served.Count / RenewChunk + 1);
            var rooms = new HashSet<string>(StringComparer.Ordinal);
            foreach (var chunk in served.Chunk(RenewChunk))
            {
                var args = new RedisValue[4 + chunk.Length];
                args[0] = _prefix;
                args[1] = _node;
                args[2] = (long)_options.LeaseTime.TotalMilliseconds;
                args[3] = (long)_retention.TotalMilliseconds;
                for (int i = 0; i < chunk.Length; i++)
                {
                    args[4 + i] = chunk[i].Id;
                    foreach (var room in chunk[i].Rooms)
                    {
                        rooms.Add(RoomKey(chunk[i].Site, room));
                    }
                }

                renewals.Add(batch.ScriptEvaluateAsync(ClusterScripts.Renew, values: args));
            }

            foreach (var room in rooms)
            {
                tasks.Add(batch.KeyExpireAsync(room, _retention * 2));
            }

            string beat = JsonSerializer.Serialize(new NodeBeat(sessions, _time.GetUtcNow().ToUnixTimeMilliseconds(), httpUri, Math.Round(_pingMs.Value, 2)));
            tasks.Add(batch.HashSetAsync(_prefix + "nodes", _node, beat));
            batch.Execute();
            await Task.WhenAll(tasks.Concat(renewals)).WaitAsync(_options.BrokerTimeout, _time).ConfigureAwait(false);
            _lastError = null;
            var report = new List<(string Id, LeaseState State)>();
            foreach (var renewal in renewals)
            {
                var pairs = (RedisResult[])(await renewal.ConfigureAwait(false))!;
                for (int i = 0; i + 1 < pairs.Length; i += 2)
                {
                    var state = pairs[i + 1].ToString() switch
                    {
                        "taken" => LeaseState.Taken,
                        "gone" => LeaseState.Gone,
                        _ => LeaseState.Retaken,
                    };
                    report.Add((pairs[i].ToString(), state));
                }
            }

            return report;
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _lastError = e is TimeoutException or RedisTimeoutException ? "broker slow (timeout)" : "broker unreachable";
            _pingMs = null;
            return [];
        }
    }

    /// <summary>Every node's last heartbeat.</summary>
    public async Task<IReadOnlyList<ClusterNodeView>> NodesAsync()
    {
        if (_redis is not { IsConnected: true })
        {
            return [];
        }

        try
        {
            var entries = await _redis.GetDatabase().HashGetAllAsync(_prefix + "nodes").ConfigureAwait(false);
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            var list = new List<ClusterNodeView>();
            foreach (var entry in entries.Take(1000))
            {
                var beat = JsonSerializer.Deserialize<NodeBeat>(entry.Value.ToString());
                if (beat is not null)
                {
                    long age = now - beat.At;
                    list.Add(new ClusterNodeView(entry.Name.ToString(), beat.Sessions, age, age < 5000 ? "up" : "down", beat.Http, beat.PingMs));
                }
            }

            return [.. list.OrderBy(n => n.Node, StringComparer.Ordinal)];
        }
        catch (Exception e) when (e is RedisException or TimeoutException or JsonException)
        {
            return [];
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_redis is not null)
        {
            await _redis.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            _redis.Dispose();
        }
    }

    private string SessionKey(string id) => _prefix + "s:" + id;

    // Length-prefixed site: no site and room name spell another site's room (the End script builds the same key).
    private string RoomKey(string site, string room) => $"{_prefix}room:{Encoding.UTF8.GetByteCount(site)}:{site}:{room}";

    private async Task<T> Run<T>(Func<IDatabase, Task<T>> call)
    {
        try
        {
            return await call(Db).WaitAsync(_options.BrokerTimeout, _time).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            _lastError = e is TimeoutException or RedisTimeoutException ? "broker slow (timeout)" : "broker unreachable";
            throw new BrokerUnavailableException(_lastError, e);
        }
    }

    private sealed record NodeBeat(int Sessions, long At, string? Http, double PingMs);
}

/// <summary>A session as the broker holds it.</summary>
/// <summary>A message of a room's history in the broker: its number in the room, sender, JSON body, time.</summary>
internal sealed record StoredRoomMessage(long Id, string From, string BodyJson, DateTimeOffset At);

internal sealed record StoredSession(string Id, string ResumeToken, string Subject, string Site, string Role, long InSeq, long OutSeq, string[] Rooms);

/// <summary>One history entry: a message core → client with its per-session seq.</summary>
internal sealed record StoredMessage(long Seq, string? Room, string? From, string BodyJson);

/// <summary>What the dispatch script said: 1 new, 0 duplicate, -1 gap, -2 taken over, -3 ended; and the recipients this node serves.</summary>
internal sealed record DispatchOutcome(int Code, string[] LocalTargets);

/// <summary>One node of the cluster as the fleet view shows it.</summary>
public sealed record ClusterNodeView(string Node, int Sessions, long LastSeenMsAgo, string State, string? Http, double PingMs);

/// <summary>The broker did not answer in time or is unreachable: the session's connection closes with 1013.</summary>
internal sealed class BrokerUnavailableException(string message, Exception? inner) : Exception(message, inner);
