using System.Net;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Edge;

/// <summary>
/// The caps on client connections (issue 16): all connections, connections not yet upgraded to a session (pre-auth),
/// and pre-auth connections per client address. <see cref="ConnectionGateMiddleware"/>, first on each listener, asks it
/// for every new connection; what it counts is read by /status (and may be by metrics and Under Attack mode).
/// </summary>
internal sealed class ConnectionGate
{
    /// <summary>Descriptors kept below the open-file limit for the backhaul, files, the tunnel and Kestrel's backstop.</summary>
    public const int FileReserve = 512;

    /// <summary>The connection cap when no open-file limit can be read (not Linux, or unlimited).</summary>
    public const int UnknownLimitCap = 100_000;

    private readonly IpLimiter _perIp;
    private int _open;
    private int _preAuth;
    private long _refusedConnections;
    private long _refusedPreAuth;
    private long _refusedPerIp;
    private long _refusedProxyHeader;

    internal ConnectionGate(IOptions<GatewayOptions> options)
        : this(options.Value, FileLimit.OpenFiles())
    {
    }

    internal ConnectionGate(GatewayOptions options, long? fileLimit)
    {
        MaxConnections = EffectiveMaxConnections(options, fileLimit);
        MaxPreAuthConnections = options.MaxPreAuthConnections > 0 ? Math.Min(options.MaxPreAuthConnections, MaxConnections) : Math.Max(1, MaxConnections / 2);
        MaxPreAuthConnectionsPerIp = options.MaxPreAuthConnectionsPerIp;
        _perIp = new IpLimiter(options.MaxPreAuthConnectionsPerIp);
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

    /// <summary>Connections closed at once because <see cref="MaxPreAuthConnections"/> were not yet sessions.</summary>
    public long RefusedPreAuth => Interlocked.Read(ref _refusedPreAuth);

    /// <summary>Connections closed at once because their address had <see cref="MaxPreAuthConnectionsPerIp"/> not yet sessions.</summary>
    public long RefusedPerIp => Interlocked.Read(ref _refusedPerIp);

    /// <summary>Connections from a trusted proxy closed for a missing or invalid PROXY header.</summary>
    public long RefusedProxyHeader => Interlocked.Read(ref _refusedProxyHeader);

    internal TrustedProxies Trusted { get; }

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
        limits = new { connections = MaxConnections, preAuth = MaxPreAuthConnections, preAuthPerIp = MaxPreAuthConnectionsPerIp },
        refused = new { connections = RefusedConnections, preAuth = RefusedPreAuth, perIp = RefusedPerIp, proxyHeader = RefusedProxyHeader },
    };

    /// <summary>Counts a new connection in; false (counted as refused) at the cap.</summary>
    internal bool TryOpen()
    {
        if (Interlocked.Increment(ref _open) > MaxConnections)
        {
            Interlocked.Decrement(ref _open);
            Interlocked.Increment(ref _refusedConnections);
            return false;
        }

        return true;
    }

    internal void Closed() => Interlocked.Decrement(ref _open);

    internal void RefuseProxyHeader() => Interlocked.Increment(ref _refusedProxyHeader);

    /// <summary>
    /// A pre-auth slot for a connection from <paramref name="client"/>, or null (counted as refused) at a cap.
    /// Trusted proxies (forwarding with X-Forwarded-For) are not limited per address.
    /// </summary>
    internal PreAuthSlot? TryEnterPreAuth(IPAddress client)
    {
        if (Interlocked.Increment(ref _preAuth) > MaxPreAuthConnections)
        {
            Interlocked.Decrement(ref _preAuth);
            Interlocked.Increment(ref _refusedPreAuth);
            return null;
        }

        bool perIp = !Trusted.Contains(client);
        if (perIp && !_perIp.TryAcquire(client))
        {
            Interlocked.Decrement(ref _preAuth);
            Interlocked.Increment(ref _refusedPerIp);
            return null;
        }

        return new PreAuthSlot(this, perIp ? client : null);
    }

    internal void LeavePreAuth(IPAddress? client)
    {
        Interlocked.Decrement(ref _preAuth);
        if (client is not null)
        {
            _perIp.Release(client);
        }
    }
}
