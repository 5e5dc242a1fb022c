using System.Collections.Concurrent;

namespace Relay.CoreSim.Faults;

/// <summary>The faults injected now. Read on every inbound message; changed by /v1/faults.</summary>
internal sealed class FaultState
{
    private readonly ConcurrentDictionary<string, LatencyFault> _latency = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _stalled = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _blockedRelays = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _linkLatency = new(StringComparer.Ordinal);
    private int _slowMs;
    private volatile bool _holdHellos;

    /// <summary>Raised when a relay is blocked (true) or unblocked (false).</summary>
    public event Action<string, bool>? RelayBlockChanged;

    /// <summary>Raised when a relay's link latency (ms; 0 = cleared) changes.</summary>
    public event Action<string, int>? LinkLatencyChanged;

    public void BlockRelay(string relayId)
    {
        _blockedRelays[relayId] = 0;
        RelayBlockChanged?.Invoke(relayId, true);
    }

    public void SetLinkLatency(string relayId, int ms)
    {
        if (ms <= 0)
        {
            _linkLatency.TryRemove(relayId, out _);
        }
        else
        {
            _linkLatency[relayId] = ms;
        }

        LinkLatencyChanged?.Invoke(relayId, ms);
    }

    /// <summary>Raised when refuse-streams changes (the backhaul applies it to its listener).</summary>
    public event Action<bool>? RefuseStreamsChanged;

    public bool RefuseStreams { get; private set; }

    public int SlowMs => Volatile.Read(ref _slowMs);

    public void SetLatency(string? relayId, int ms, int jitterMs) => _latency[relayId ?? "*"] = new LatencyFault(relayId, ms, jitterMs);

    public void SetSlow(int ms) => Volatile.Write(ref _slowMs, ms);

    public void Stall(string sessionId) => _stalled[sessionId] = 0;

    public void SetRefuseStreams(bool on)
    {
        RefuseStreams = on;
        RefuseStreamsChanged?.Invoke(on);
    }

    /// <summary>Issue 22's test fault: every new connection's hello waits, unread, until this is off (the core "stalled" at
    /// session start, while links, pings and sessions already open go on).</summary>
    public bool HoldHellos
    {
        get => _holdHellos;
        set => _holdHellos = value;
    }

    /// <summary>Waits (bounded by the token) while hellos are held.</summary>
    public async ValueTask WaitWhileHellosHeldAsync(CancellationToken cancellationToken)
    {
        while (_holdHellos)
        {
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
    }

    public bool IsStalled(string sessionId) => !_stalled.IsEmpty && _stalled.ContainsKey(sessionId);

    /// <summary>The delay to add before processing a message from a connection (slow + the relay's latency + jitter).</summary>
    public TimeSpan ProcessingDelay(string? relayId)
    {
        int ms = SlowMs;
        if (relayId is not null && !_latency.IsEmpty && (_latency.TryGetValue(relayId, out var fault) || _latency.TryGetValue("*", out fault)))
        {
            ms += fault.Ms + (fault.JitterMs > 0 ? Random.Shared.Next(fault.JitterMs + 1) : 0);
        }

        return ms > 0 ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
    }

    /// <summary>Waits (bounded by the token) while the session is stalled.</summary>
    public async ValueTask WaitWhileStalledAsync(string sessionId, CancellationToken cancellationToken)
    {
        while (IsStalled(sessionId))
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    public ActiveFaults Snapshot() => new(
        [.. _latency.Values],
        SlowMs,
        [.. _stalled.Keys],
        RefuseStreams,
        [.. _blockedRelays.Keys],
        _linkLatency.ToDictionary(kv => kv.Key, kv => kv.Value),
        HoldHellos);

    public void Clear()
    {
        _latency.Clear();
        _stalled.Clear();
        HoldHellos = false;
        SetSlow(0);
        foreach (var relay in _blockedRelays.Keys)
        {
            _blockedRelays.TryRemove(relay, out _);
            RelayBlockChanged?.Invoke(relay, false);
        }

        foreach (var relay in _linkLatency.Keys)
        {
            SetLinkLatency(relay, 0);
        }

        if (RefuseStreams)
        {
            SetRefuseStreams(false);
        }
    }
}
