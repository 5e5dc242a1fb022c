using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Edge;

/// <summary>
/// The caps on client connections (issue 16): all connections, connections not yet upgraded to a session (pre-auth),
/// and pre-auth connections per client address. <see cref="ConnectionGateMiddleware"/>, first on each listener, asks it
/// for every new connection; what it counts is read by /status, and its refusals and evictions feed Under Attack
/// mode (<see cref="Refused"/>). At the pre-auth cap a newcomer is not refused: it takes the slot of the oldest
/// pre-auth connection of the address holding the most, which is closed, so a flood of idle connections cannot
/// hold the slots that new legitimate clients need (the per-address cap still refuses).
/// </summary>
internal sealed class ConnectionGate
{
    /// <summary>Descriptors kept below the open-file limit for the backhaul, files, the tunnel and Kestrel's backstop.</summary>
    public const int FileReserve = 512;

    /// <summary>The most pre-auth connections by default (<see cref="GatewayOptions.MaxPreAuthConnections"/> 0).</summary>
    public const int DefaultMaxPreAuthConnections = 4096;

    /// <summary>The connection cap when no open-file limit can be read (not Linux, or unlimited).</summary>
    public const int UnknownLimitCap = 100_000;

    private readonly Lock _lock = new();
    private readonly PreAuthTable _table = new();
    private int _open;
    private int _preAuth;
    private long _refusedConnections;
    private long _evicted;
    private long _refusedPerIp;
    private long _refusedProxyHeader;
    private long _refusedAtPreAuthCap;
    private long _acceptWaits;
    private long _refusedTlsRate;
    private long _lastRefusal = long.MinValue;
    private Func<bool>? _underAttack;
    private TimeSpan _underAttackHeadTimeout;

    internal ConnectionGate(IOptions<GatewayOptions> options, TimeProvider time)
        : this(options.Value, Relay.Contracts.Configuration.FileLimit.OpenFiles(), time)
    {
    }

    internal ConnectionGate(GatewayOptions options, long? fileLimit, TimeProvider? time = null)
    {
        Time = time ?? TimeProvider.System;
        Budget = options.AcceptsPerSecondWhenRefusing > 0 ? new AcceptBudget(options.AcceptsPerSecondWhenRefusing, Time) : null;
        TlsRate = options.TlsHandshakesPerSecondPerAddress > 0 ? new ClientRate(options.TlsHandshakesPerSecondPerAddress, options.TlsHandshakeBurstPerAddress, Time) : null;
        MaxConnections = EffectiveMaxConnections(options, fileLimit);
        MaxPreAuthConnections = options.MaxPreAuthConnections > 0 ? Math.Min(options.MaxPreAuthConnections, MaxConnections) : Math.Clamp(MaxConnections / 4, 1, DefaultMaxPreAuthConnections);
        MaxPreAuthConnectionsPerIp = options.MaxPreAuthConnectionsPerIp;
        Trusted = TrustedProxies.TryParse(options.TrustedProxies, out _) ?? throw new ArgumentException("invalid Gateway:TrustedProxies (the validator names it)", nameof(options));
    }

    /// <summary>Concurrent connections allowed (<see cref="GatewayOptions.MaxConnections"/>, at most the file limit minus the reserve).</summary>
    public int MaxConnections { get; }

    /// <summary>Concurrent connections allowed that are not sessions.</summary>
    public int MaxPreAuthConnections { get; }

    /// <summary>Concurrent connections from one address allowed that are not sessions.</summary>
    public int MaxPreAuthConnectionsPerIp { get; }

    /// <summary>Client connections open now (sessions, handshakes, HTTP).</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Connections open now that are not sessions.</summary>
    public int PreAuth => Volatile.Read(ref _preAuth);

    /// <summary>Connections closed at once because <see cref="MaxConnections"/> were open.</summary>
    public long RefusedConnections => Interlocked.Read(ref _refusedConnections);

    /// <summary>Pre-auth connections closed because <see cref="MaxPreAuthConnections"/> were reached and a newer one took their slot.</summary>
    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Connections closed at once because their address had <see cref="MaxPreAuthConnectionsPerIp"/> not yet sessions.</summary>
    public long RefusedPerIp => Interlocked.Read(ref _refusedPerIp);

    /// <summary>Connections reset at accept at the pre-auth cap because their own address held the most pre-auth connections.</summary>
    public long RefusedAtPreAuthCap => Interlocked.Read(ref _refusedAtPreAuthCap);

    /// <summary>Connections from a trusted proxy closed for a missing or invalid PROXY header.</summary>
    public long RefusedProxyHeader => Interlocked.Read(ref _refusedProxyHeader);

    /// <summary>wss connections reset at accept because their client was over <see cref="GatewayOptions.TlsHandshakesPerSecondPerAddress"/>.</summary>
    public long RefusedTlsRate => Interlocked.Read(ref _refusedTlsRate);

    /// <summary>Times the listener waited for the accept budget (<see cref="AcceptWait"/>) while the gate was refusing.</summary>
    public long AcceptWaits => Interlocked.Read(ref _acceptWaits);

    /// <summary>
    /// True while the gate is refusing: a cap or a per-address limit refused or evicted a connection in the last
    /// <see cref="RefusingWindow"/>, or Under Attack mode is on. The accept budget applies only then.
    /// </summary>
    public bool IsRefusing
    {
        get
        {
            long last = Interlocked.Read(ref _lastRefusal);
            return (last != long.MinValue && Time.GetElapsedTime(last) < RefusingWindow) || (_underAttack is { } on && on());
        }
    }

    /// <summary>How long after its last refusal the gate still counts as refusing.</summary>
    public static TimeSpan RefusingWindow { get; } = TimeSpan.FromSeconds(1);

    internal TimeProvider Time { get; }

    /// <summary>Accepts per second while refusing (<see cref="GatewayOptions.AcceptsPerSecondWhenRefusing"/>); null: no limit.</summary>
    internal AcceptBudget? Budget { get; }

    /// <summary>New wss connections per second per client (<see cref="GatewayOptions.TlsHandshakesPerSecondPerAddress"/>); null: no limit.</summary>
    internal ClientRate? TlsRate { get; }

    internal TrustedProxies Trusted { get; }

    /// <summary>Raised for each connection refused at a cap (connections, per address, the TLS handshake rate) or evicted at
    /// the pre-auth cap, with its client (null at the connection cap, where it is not asked): Under Attack mode counts them.</summary>
    internal event Action<IPAddress?>? Refused;

    /// <summary>
    /// Raised for each connection the client listeners accept and do not reset at once, whoever then holds it (a session
    /// on its own socket or Kestrel): Under Attack mode's new-connection rate.
    /// </summary>
    internal event Action? Accepted;

    /// <summary>A client listener accepted a connection (<see cref="Accepted"/>).</summary>
    internal void NoteAccepted() => Accepted?.Invoke();

    /// <summary>The request-head deadline for a new connection: <paramref name="normal"/>, or the shorter one while Under Attack mode is on.</summary>
    internal TimeSpan HeadTimeout(TimeSpan normal) =>
        _underAttack is { } on && on() && _underAttackHeadTimeout < normal ? _underAttackHeadTimeout : normal;

    /// <summary>While <paramref name="isOn"/> is true, new connections get <paramref name="headTimeout"/> for their request head (see <see cref="HeadTimeout"/>).</summary>
    internal void UseUnderAttackMode(Func<bool> isOn, TimeSpan headTimeout)
    {
        _underAttackHeadTimeout = headTimeout;
        _underAttack = isOn;
    }

    /// <summary>The connection cap: the configured one (0: the file limit minus <see cref="FileReserve"/>), never above that.</summary>
    public static int EffectiveMaxConnections(GatewayOptions options, long? fileLimit)
    {
        long ceiling = fileLimit switch
        {
            null => UnknownLimitCap,
            > 2 * FileReserve => fileLimit.Value - FileReserve,
            _ => Math.Max(1, fileLimit.Value / 2), // a tiny limit: half of it
        };
        ceiling = Math.Min(ceiling, int.MaxValue);
        return (int)(options.MaxConnections > 0 ? Math.Min(options.MaxConnections, ceiling) : ceiling);
    }

    /// <summary>The counters for /status.</summary>
    public object Describe() => new
    {
        open = Open,
        preAuth = PreAuth,
        evicted = Evicted,
        limits = new { connections = MaxConnections, preAuth = MaxPreAuthConnections, preAuthPerIp = MaxPreAuthConnectionsPerIp, tlsHandshakesPerSecondPerAddress = TlsRate?.PerSecond ?? 0, tlsHandshakeBurstPerAddress = TlsRate?.Burst ?? 0 },
        refused = new { connections = RefusedConnections, perIp = RefusedPerIp, preAuthCap = RefusedAtPreAuthCap, proxyHeader = RefusedProxyHeader, tlsRate = RefusedTlsRate },
        accept = new { refusing = IsRefusing, perSecondWhenRefusing = Budget?.PerSecond ?? 0, waits = AcceptWaits },
    };

    /// <summary>
    /// Asked by the listener before each accept(): zero to accept now, or how long to wait first — while the gate is
    /// refusing and the accept budget is spent. The connections waiting meanwhile stay in the kernel's listen queue.
    /// </summary>
    internal TimeSpan AcceptWait()
    {
        if (Budget is null || !IsRefusing)
        {
            return TimeSpan.Zero;
        }

        var wait = Budget.Take();
        if (wait > TimeSpan.Zero)
        {
            Interlocked.Increment(ref _acceptWaits);
        }

        return wait;
    }

    private void NoteRefused(IPAddress? client)
    {
        Interlocked.Exchange(ref _lastRefusal, Time.GetTimestamp());
        Refused?.Invoke(client);
    }

    /// <summary>
    /// Asked by the listener (<see cref="GatedSocketTransportFactory"/>) for each accepted socket, before Kestrel builds a
    /// connection for it: true (counted) when the connection would be closed anyway — the connection cap, its address's
    /// pre-auth cap — or when, at the pre-auth cap, its own address holds pre-auth connections and would then hold as
    /// many as the address holding the most (admitting it would evict one of the flood for another of the flood: a
    /// flood's reconnects would churn the flood for ever). An address holding none (a new client, a health check) or
    /// clearly fewer still takes the oldest slot of the address holding the most. On the wss listener
    /// (<paramref name="tls"/>), also when its client is over its TLS handshake rate (<see cref="TlsRate"/>; asked last,
    /// so a connection refused by a cap takes none of it). The
    /// caller resets it. Connections from trusted proxies are decided after their PROXY header, by the middleware.
    /// </summary>
    internal bool RefuseAtAccept(IPAddress client, bool tls = false)
    {
        if (Trusted.Contains(client))
        {
            return false;
        }

        ref long counter = ref _refusedAtPreAuthCap;
        if (Open >= MaxConnections)
        {
            counter = ref _refusedConnections;
        }
        else
        {
            bool capped = true;
            lock (_lock)
            {
                int mine = _table.CountOf(ClientKey.Of(client));
                if (mine >= MaxPreAuthConnectionsPerIp)
                {
                    counter = ref _refusedPerIp;
                }
                else if (_table.Count < MaxPreAuthConnections || mine == 0 || mine + 1 < _table.Most)
                {
                    capped = false;
                }
            }

            if (!capped)
            {
                if (!tls || TlsRate is null || TlsRate.TryTake(client))
                {
                    return false;
                }

                counter = ref _refusedTlsRate;
            }
        }

        Interlocked.Increment(ref counter);
        NoteRefused(client);
        return true;
    }

    /// <summary>Counts a new connection in; false (counted as refused) at the cap.</summary>
    internal bool TryOpen()
    {
        if (Interlocked.Increment(ref _open) > MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _refusedConnections);
            NoteRefused(null);
            return false;
        }

        return true;
    }

    internal void Closed() => Interlocked.Decrement(ref _open);

    internal void RefuseProxyHeader() => Interlocked.Increment(ref _refusedProxyHeader);

    /// <summary>
    /// A pre-auth slot for <paramref name="connection"/> from <paramref name="client"/>, or null (counted as refused)
    /// when that address holds <see cref="MaxPreAuthConnectionsPerIp"/>. At <see cref="MaxPreAuthConnections"/> the
    /// oldest slot of the address holding the most is taken and its connection aborted. Trusted proxies (forwarding
    /// with X-Forwarded-For) are not limited per address.
    /// </summary>
    internal PreAuthSlot? TryEnterPreAuth(IPAddress client, ConnectionContext? connection = null)
    {
        bool trusted = Trusted.Contains(client);
        var slot = new PreAuthSlot(this, trusted ? client : ClientKey.Of(client), connection) { Unlimited = trusted }; // per client: an IPv4 address or an IPv6 /64
        bool added;
        PreAuthSlot? victim;
        lock (_lock)
        {
            added = TryAdd(slot, out victim);
        }

        Entered(added, victim, client);
        return added ? slot : null;
    }

    /// <summary>Under the lock: the slot into the table, unless its client is at its cap (false); at the table's cap the victim is taken out first.</summary>
    private bool TryAdd(PreAuthSlot slot, out PreAuthSlot? victim)
    {
        victim = null;
        if (_table.CountOf(slot.Address) >= MaxPreAuthConnectionsPerIp && !slot.Unlimited)
        {
            return false;
        }

        if (_table.Count >= MaxPreAuthConnections)
        {
            victim = _table.RemoveVictim();
            victim?.MarkEvicted(); // under the lock: a SessionEnded racing the eviction does not put it back
        }

        _table.Add(slot);
        Volatile.Write(ref _preAuth, _table.Count);
        return true;
    }

    /// <summary>After <see cref="TryAdd"/>, outside the lock (aborting a connection runs Kestrel's code): counts the refusal, or evicts the victim.</summary>
    private void Entered(bool added, PreAuthSlot? victim, IPAddress client)
    {
        if (!added)
        {
            Interlocked.Increment(ref _refusedPerIp);
            NoteRefused(client);
        }
        else if (victim is not null)
        {
            Interlocked.Increment(ref _evicted);
            victim.Evict();
            NoteRefused(victim.Address);
        }
    }

    /// <summary>The slot's connection carries one more session: out of the table while it carries any.</summary>
    internal void SessionStarted(PreAuthSlot slot)
    {
        lock (_lock)
        {
            slot.Sessions++;
            if (_table.Remove(slot))
            {
                Volatile.Write(ref _preAuth, _table.Count);
            }
        }
    }

    /// <summary>
    /// One session of the slot's (HTTP/2) connection ended: with none left and the connection open, the slot is back in
    /// the table as for a new connection; at its client's cap the connection is asked to close, at the table's cap the
    /// oldest slot of the address holding the most is taken.
    /// </summary>
    internal void SessionEnded(PreAuthSlot slot)
    {
        bool added;
        PreAuthSlot? victim;
        lock (_lock)
        {
            if (--slot.Sessions > 0 || slot.Closed || slot.Evicted || slot.Node is not null)
            {
                return;
            }

            added = TryAdd(slot, out victim);
        }

        if (added)
        {
            Entered(added, victim, slot.Address);
        }
        else
        {
            // Over its client's cap: the connection is asked to close (HTTP/2 GOAWAY: requests in flight finish). Not
            // counted as a refusal: users behind one NAT whose sessions a drain closed at once are no attack.
            slot.RequestClose();
        }
    }

    internal void LeavePreAuth(PreAuthSlot slot)
    {
        lock (_lock)
        {
            if (_table.Remove(slot))
            {
                Volatile.Write(ref _preAuth, _table.Count);
            }
        }
    }
}
