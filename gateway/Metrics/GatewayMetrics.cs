using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;

namespace Relay.Gateway.Metrics;

/// <summary>
/// The gateway's session counters, meter <c>Relay.Gateway</c> from the host's <see cref="IMeterFactory"/>. Each count
/// lives here once: the meter's observable instruments (exported at <c>/metrics</c>) and the properties (read by
/// <c>/status</c>, the health signals and the memory trim) read the same fields. Recording is an
/// <see cref="Interlocked"/> add: no tags, no allocation on the message path.
/// </summary>
public sealed class GatewayMetrics
{
    public const string MeterName = "Relay.Gateway";
    private static readonly KeyValuePair<string, object?> s_fastPath = new("path", "connection");
    private static readonly KeyValuePair<string, object?> s_httpPath = new("path", "http");
    private static readonly KeyValuePair<string, object?> s_socketPath = new("path", "socket");
    private readonly ConcurrentDictionary<int, long> _closesByCode = new();
    private readonly ConcurrentDictionary<string, long> _refusals = new();
    private long _fastUpgrades, _httpUpgrades, _socketUpgrades, _memoryTrims, _memoryTrimmedBytes, _edgeWelcomes, _tlsBuffersReleased, _tlsDirectSessions, _tlsHandshakeFailures, _httpRateRefusals;
    private long _sessions, _opens, _messagesIn, _messagesOut, _messagesPaced, _bytesIn, _bytesOut;
    private Func<long>? _sendQueueSource;

    public GatewayMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(new MeterOptions(MeterName) { Version = "1.0" });
        meter.CreateObservableUpDownCounter("relay.gateway.sessions", () => Sessions, description: "Websocket sessions open.");
        meter.CreateObservableCounter("relay.gateway.session_opens", () => Opens, description: "Sessions opened.");
        meter.CreateObservableCounter("relay.gateway.session_closes", ObserveCloses, description: "Sessions closed, by websocket close code.");
        meter.CreateObservableCounter<long>(
            "relay.gateway.upgrades",
            () => [new(SocketUpgrades, s_socketPath), new(FastUpgrades, s_fastPath), new(HttpUpgrades, s_httpPath)],
            description: "Sessions accepted, by where the upgrade was taken (socket: its own socket, on either client listener; connection: the HTTP/1.1 fast path on a Kestrel connection; http: ASP.NET Core).");
        meter.CreateObservableCounter("relay.gateway.memory_trims", () => MemoryTrims, description: "Aggressive GCs run when the process went quiet after a burst.");
        meter.CreateObservableCounter("relay.gateway.memory_trimmed_bytes", () => Interlocked.Read(ref _memoryTrimmedBytes), description: "Working set those trims gave back.");
        meter.CreateObservableCounter("relay.gateway.tls_direct_sessions", () => TlsDirectSessions, description: "wss sessions whose websocket runs straight on their TLS stream (HTTP/1.1 upgrades, on their own socket or on the connection fast path; issue 21).");
        meter.CreateObservableCounter("relay.gateway.http_rate_refusals", () => HttpRateRefusals, description: "Requests to the relay's own HTTP endpoints (not /ws, not the edge HTTP prefixes) refused with 429 because their client made more than Gateway:HttpRequestsPerSecondPerClient a second.");
        meter.CreateObservableCounter("relay.gateway.tls_handshake_failures", () => TlsHandshakeFailures, description: "TLS handshakes on the wss listener that failed (not TLS, a bad or cut ClientHello, no shared protocol or cipher) when the relay does them itself (Gateway:SocketSessions); handshakes cut by the head deadline are not counted here.");
        meter.CreateObservableCounter("relay.gateway.tls_release_buffers", () => TlsBuffersReleased, description: "wss connections whose OpenSSL buffers are freed while idle (Gateway:TlsReleaseBuffers; 0 where the platform does not allow it).");
        meter.CreateObservableCounter("relay.gateway.edge_welcomes", () => EdgeWelcomes, description: "Fresh sessions the relay welcomed itself (issue 22), without waiting for the core.");
        meter.CreateObservableCounter("relay.gateway.messages_in", () => MessagesIn, description: "Messages from clients to the core.");
        meter.CreateObservableCounter("relay.gateway.messages_out", () => MessagesOut, description: "Messages from the core to clients.");
        meter.CreateObservableCounter("relay.gateway.messages_paced", () => MessagesPaced, description: "Client messages that waited for their session's message rate (Gateway:MessagesPerSecond, MessageBurst): the client sent faster and was held to it.");
        meter.CreateObservableCounter("relay.gateway.bytes_in", () => Interlocked.Read(ref _bytesIn), description: "Bytes from clients.");
        meter.CreateObservableCounter("relay.gateway.bytes_out", () => Interlocked.Read(ref _bytesOut), description: "Bytes to clients.");
        meter.CreateObservableUpDownCounter("relay.gateway.send_queue_bytes", () => SendQueueBytes, description: "Bytes queued for clients.");
        meter.CreateObservableCounter("relay.gateway.auth_refusals", ObserveRefusals, description: "Upgrades refused, by reason.");
    }

    public long Sessions => Interlocked.Read(ref _sessions);

    public long Opens => Interlocked.Read(ref _opens);

    public long MessagesIn => Interlocked.Read(ref _messagesIn);

    public long MessagesOut => Interlocked.Read(ref _messagesOut);

    /// <summary>Client messages held back to their session's message rate.</summary>
    public long MessagesPaced => Interlocked.Read(ref _messagesPaced);

    /// <summary>Bytes received from the core and not yet handed to the clients' websockets (summed over sessions when read).</summary>
    public long SendQueueBytes => _sendQueueSource?.Invoke() ?? 0;

    /// <summary>Idle memory trims so far.</summary>
    public long MemoryTrims => Interlocked.Read(ref _memoryTrims);

    /// <summary>Sessions accepted at the connection, before Kestrel's HTTP stack.</summary>
    public long FastUpgrades => Interlocked.Read(ref _fastUpgrades);

    /// <summary>Sessions accepted on their own socket, on either client listener (issue 21, <see cref="Upgrade.SocketUpgrade"/>).</summary>
    public long SocketUpgrades => Interlocked.Read(ref _socketUpgrades);

    /// <summary>Sessions accepted through ASP.NET Core (HTTP/2, permessage-deflate, or the fast path off).</summary>
    public long HttpUpgrades => Interlocked.Read(ref _httpUpgrades);

    /// <summary>wss connections whose OpenSSL buffers are freed while idle (<see cref="Tls.OpenSslBuffers"/>).</summary>
    public long TlsBuffersReleased => Interlocked.Read(ref _tlsBuffersReleased);

    /// <summary>wss sessions whose websocket runs straight on the connection's <c>SslStream</c>.</summary>
    public long TlsDirectSessions => Interlocked.Read(ref _tlsDirectSessions);

    /// <summary>Failed TLS handshakes the relay did itself (issue 21).</summary>
    public long TlsHandshakeFailures => Interlocked.Read(ref _tlsHandshakeFailures);

    public long HttpRateRefusals => Interlocked.Read(ref _httpRateRefusals);

    /// <summary>Fresh sessions welcomed by the relay itself (issue 22).</summary>
    public long EdgeWelcomes => Interlocked.Read(ref _edgeWelcomes);

    public long Closes(int code) => _closesByCode.TryGetValue(code, out long n) ? n : 0;

    public IReadOnlyDictionary<string, long> ClosesByCode() => _closesByCode.ToDictionary(kv => kv.Key.ToString(CultureInfo.InvariantCulture), kv => kv.Value);

    public void SessionOpened()
    {
        Interlocked.Increment(ref _sessions);
        Interlocked.Increment(ref _opens);
    }

    public void SessionClosed(int code)
    {
        Interlocked.Decrement(ref _sessions);
        _closesByCode.AddOrUpdate(code, 1, static (_, n) => n + 1);
    }

    /// <summary>Sessions accepted at the connection (<paramref name="fast"/>) or through ASP.NET Core's websocket middleware.</summary>
    public void Upgraded(UpgradePath path)
    {
        if (path == UpgradePath.Socket)
        {
            Interlocked.Increment(ref _socketUpgrades);
        }
        else if (path == UpgradePath.Connection)
        {
            Interlocked.Increment(ref _fastUpgrades);
        }
        else
        {
            Interlocked.Increment(ref _httpUpgrades);
        }
    }

    /// <summary>An idle memory trim gave <paramref name="bytes"/> back.</summary>
    public void MemoryTrimmed(long bytes)
    {
        Interlocked.Increment(ref _memoryTrims);
        Interlocked.Add(ref _memoryTrimmedBytes, Math.Max(bytes, 0));
    }

    public void Refused(string reason) => _refusals.AddOrUpdate(reason, 1, static (_, n) => n + 1);

    public void MessageIn(int bytes)
    {
        Interlocked.Increment(ref _messagesIn);
        Interlocked.Add(ref _bytesIn, bytes);
    }

    /// <summary>A wss connection's OpenSSL buffers are now freed while idle.</summary>
    public void TlsBuffersReleasedOnce() => Interlocked.Increment(ref _tlsBuffersReleased);

    public void TlsDirectSession() => Interlocked.Increment(ref _tlsDirectSessions);

    public void TlsHandshakeFailed() => Interlocked.Increment(ref _tlsHandshakeFailures);

    public void HttpRateRefused() => Interlocked.Increment(ref _httpRateRefusals);

    /// <summary>A client message waited for its session's rate.</summary>
    public void MessagePaced() => Interlocked.Increment(ref _messagesPaced);

    /// <summary>The relay welcomed a fresh session itself.</summary>
    public void EdgeWelcomed() => Interlocked.Increment(ref _edgeWelcomes);

    public void MessageOut(int bytes)
    {
        Interlocked.Increment(ref _messagesOut);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    /// <summary>Where <see cref="SendQueueBytes"/> comes from: the session registry sums its sessions' queues.</summary>
    public void SetSendQueueSource(Func<long> source) => _sendQueueSource = source;

    private IEnumerable<Measurement<long>> ObserveCloses() =>
        _closesByCode.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("code", kv.Key.ToString(CultureInfo.InvariantCulture))));

    private IEnumerable<Measurement<long>> ObserveRefusals() =>
        _refusals.Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("reason", kv.Key)));
}
