using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Relay.Tunnel.Diagnostics;

namespace Relay.Gateway.Metrics;

/// <summary>Gateway counters, published through System.Diagnostics.Metrics (meter "Relay.Gateway") and as Prometheus text.</summary>
public sealed class GatewayMetrics : IDisposable
{
    public const string MeterName = "Relay.Gateway";
    private readonly Meter _meter = new(MeterName, "1.0");
    private readonly ConcurrentDictionary<int, long> _closesByCode = new();
    private readonly ConcurrentDictionary<string, long> _refusals = new();
    private long _fastUpgrades, _httpUpgrades, _memoryTrims, _memoryTrimmedBytes;
    private long _sessions, _opens, _messagesIn, _messagesOut, _bytesIn, _bytesOut;
    private Func<long>? _sendQueueSource;

    public GatewayMetrics()
    {
        _meter.CreateObservableUpDownCounter("relay.gateway.sessions", () => Sessions, description: "Websocket sessions open");
        _meter.CreateObservableCounter("relay.gateway.opens", () => Interlocked.Read(ref _opens), description: "Sessions opened");
        _meter.CreateObservableCounter("relay.gateway.messages.in", () => Interlocked.Read(ref _messagesIn), description: "Messages client → core");
        _meter.CreateObservableCounter("relay.gateway.messages.out", () => Interlocked.Read(ref _messagesOut), description: "Messages core → client");
        _meter.CreateObservableUpDownCounter("relay.gateway.send_queue.bytes", () => SendQueueBytes, "By", "Bytes queued for clients");
    }

    public long Sessions => Interlocked.Read(ref _sessions);

    public long Opens => Interlocked.Read(ref _opens);

    public long MessagesIn => Interlocked.Read(ref _messagesIn);

    public long MessagesOut => Interlocked.Read(ref _messagesOut);

    /// <summary>Bytes received from the core and not yet handed to the clients' websockets (summed over sessions when read).</summary>
    public long SendQueueBytes => _sendQueueSource?.Invoke() ?? 0;

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
        _closesByCode.AddOrUpdate(code, 1, (_, n) => n + 1);
    }

    /// <summary>Sessions accepted at the connection (<paramref name="fast"/>) or through ASP.NET Core's websocket middleware.</summary>
    public void Upgraded(bool fast) => Interlocked.Increment(ref fast ? ref _fastUpgrades : ref _httpUpgrades);

    /// <summary>An idle memory trim gave <paramref name="bytes"/> back.</summary>
    public void MemoryTrimmed(long bytes)
    {
        Interlocked.Increment(ref _memoryTrims);
        Interlocked.Add(ref _memoryTrimmedBytes, Math.Max(bytes, 0));
    }

    /// <summary>Idle memory trims so far.</summary>
    public long MemoryTrims => Interlocked.Read(ref _memoryTrims);

    /// <summary>Sessions accepted at the connection, before Kestrel's HTTP stack.</summary>
    public long FastUpgrades => Interlocked.Read(ref _fastUpgrades);

    /// <summary>Sessions accepted through ASP.NET Core (HTTP/2, permessage-deflate, or the fast path off).</summary>
    public long HttpUpgrades => Interlocked.Read(ref _httpUpgrades);

    public void Refused(string reason) => _refusals.AddOrUpdate(reason, 1, (_, n) => n + 1);

    public void MessageIn(int bytes)
    {
        Interlocked.Increment(ref _messagesIn);
        Interlocked.Add(ref _bytesIn, bytes);
    }

    public void MessageOut(int bytes)
    {
        Interlocked.Increment(ref _messagesOut);
        Interlocked.Add(ref _bytesOut, bytes);
    }

    /// <summary>Where <see cref="SendQueueBytes"/> comes from: the session registry sums its sessions' queues.</summary>
    public void SetSendQueueSource(Func<long> source) => _sendQueueSource = source;

    /// <summary>Prometheus text exposition format (version 0.0.4).</summary>
    public string ToPrometheus(int linksUp)
    {
        var sb = new StringBuilder();
        void Metric(string name, string type, string help, FormattableString value)
        {
            sb.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n');
            sb.Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');
            sb.Append(value.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        Metric("relay_gateway_sessions", "gauge", "Websocket sessions open.", $"relay_gateway_sessions {Sessions}");
        Metric("relay_gateway_session_opens_total", "counter", "Sessions opened.", $"relay_gateway_session_opens_total {Interlocked.Read(ref _opens)}");
        sb.Append("# HELP relay_gateway_session_closes_total Sessions closed, by websocket close code.\n# TYPE relay_gateway_session_closes_total counter\n");
        foreach (var (code, n) in _closesByCode.OrderBy(kv => kv.Key))
        {
            sb.Append(CultureInfo.InvariantCulture, $"relay_gateway_session_closes_total{{code=\"{code}\"}} {n}\n");
        }

        sb.Append("# HELP relay_gateway_upgrades_total Sessions accepted, by where the upgrade was taken (connection: the HTTP/1.1 fast path; http: ASP.NET Core).\n# TYPE relay_gateway_upgrades_total counter\n");
        sb.Append(CultureInfo.InvariantCulture, $"relay_gateway_upgrades_total{{path=\"connection\"}} {FastUpgrades}\n");
        sb.Append(CultureInfo.InvariantCulture, $"relay_gateway_upgrades_total{{path=\"http\"}} {HttpUpgrades}\n");
        Metric("relay_gateway_memory_trims_total", "counter", "Aggressive GCs run when the process went quiet after a burst.", $"relay_gateway_memory_trims_total {MemoryTrims}");
        Metric("relay_gateway_memory_trimmed_bytes_total", "counter", "Working set those trims gave back.", $"relay_gateway_memory_trimmed_bytes_total {Interlocked.Read(ref _memoryTrimmedBytes)}");
        Metric("relay_gateway_messages_in_total", "counter", "Messages from clients to the core.", $"relay_gateway_messages_in_total {Interlocked.Read(ref _messagesIn)}");
        Metric("relay_gateway_messages_out_total", "counter", "Messages from the core to clients.", $"relay_gateway_messages_out_total {Interlocked.Read(ref _messagesOut)}");
        Metric("relay_gateway_bytes_in_total", "counter", "Bytes from clients.", $"relay_gateway_bytes_in_total {Interlocked.Read(ref _bytesIn)}");
        Metric("relay_gateway_bytes_out_total", "counter", "Bytes to clients.", $"relay_gateway_bytes_out_total {Interlocked.Read(ref _bytesOut)}");
        Metric("relay_gateway_send_queue_bytes", "gauge", "Bytes queued for clients.", $"relay_gateway_send_queue_bytes {SendQueueBytes}");
        sb.Append("# HELP relay_gateway_auth_refusals_total Upgrades refused, by reason.\n# TYPE relay_gateway_auth_refusals_total counter\n");
        foreach (var (reason, n) in _refusals.OrderBy(kv => kv.Key))
        {
            sb.Append(CultureInfo.InvariantCulture, $"relay_gateway_auth_refusals_total{{reason=\"{reason}\"}} {n}\n");
        }

        var t = TunnelMetrics.Snapshot();
        Metric("relay_backhaul_links_up", "gauge", "Backhaul links up.", $"relay_backhaul_links_up {linksUp}");
        Metric("relay_backhaul_streams", "gauge", "Backhaul streams open.", $"relay_backhaul_streams {t.Streams}");
        Metric("relay_backhaul_frames_sent_total", "counter", "Backhaul frames written.", $"relay_backhaul_frames_sent_total {t.FramesSent}");
        Metric("relay_backhaul_flushes_total", "counter", "Backhaul link writes (frames sent / flushes is the batching).", $"relay_backhaul_flushes_total {t.Flushes}");
        Metric("relay_backhaul_frames_received_total", "counter", "Backhaul frames read.", $"relay_backhaul_frames_received_total {t.FramesReceived}");
        Metric("relay_backhaul_bytes_sent_total", "counter", "Backhaul bytes written.", $"relay_backhaul_bytes_sent_total {t.BytesSent}");
        Metric("relay_backhaul_bytes_received_total", "counter", "Backhaul bytes read.", $"relay_backhaul_bytes_received_total {t.BytesReceived}");
        Metric("relay_backhaul_reconnects_total", "counter", "Backhaul link reconnect attempts.", $"relay_backhaul_reconnects_total {t.Reconnects}");
        Metric("relay_backhaul_reattaches_total", "counter", "Streams re-attached after link loss.", $"relay_backhaul_reattaches_total {t.Reattaches}");
        return sb.ToString();
    }

    public void Dispose() => _meter.Dispose();
}
