using System.Collections.Concurrent;

namespace Relay.Gateway.Sessions;

/// <summary>The sessions open on this gateway, so shutdown and drain can close them.</summary>
internal sealed class SessionRegistry
{
    private readonly ConcurrentDictionary<long, RelaySession> _sessions = new();
    private long _next;

    public SessionRegistry(Metrics.GatewayMetrics metrics) => metrics.SetSendQueueSource(QueuedBytes);

    /// <summary>Bytes from the core waiting for their clients, over all sessions.</summary>
    public long QueuedBytes()
    {
        long total = 0;
        foreach (var entry in _sessions)
        {
            total += entry.Value.QueuedBytes;
        }

        return total;
    }

    public int Count => _sessions.Count;

    private volatile bool _draining;

    public bool Draining
    {
        get => _draining;
        set => _draining = value;
    }

    public long Add(RelaySession session)
    {
        long id = Interlocked.Increment(ref _next);
        _sessions[id] = session;
        return id;
    }

    public void Remove(long id) => _sessions.TryRemove(id, out _);

    public IReadOnlyList<RelaySession> Snapshot() => _sessions.Values.ToList();

    /// <summary>Closes every session with <paramref name="code"/> and waits for them to end, up to <paramref name="deadline"/>.</summary>
    public async Task CloseAllAsync(int code, string reason, TimeSpan deadline, TimeProvider time)
    {
        var sessions = _sessions.Values.ToList();
        foreach (var session in sessions)
        {
            session.RequestClose(code, reason);
        }

        await Task.WhenAll(sessions.Select(s => s.Completion)).WaitAsync(deadline, time).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
    }
}
