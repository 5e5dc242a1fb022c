using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Relay.AttackBench;

/// <summary>Watches the servers during one phase, every 200 ms: RSS of both (from /proc), whether the gateway is
/// still running, its <c>/readyz</c>, and the Under Attack field of its <c>/status</c> JSON. Each probe opens a new
/// connection (as a load balancer's health check does), so it waits in the same accept queue as the flood.</summary>
internal sealed class Monitor : IAsyncDisposable
{
    private static readonly TimeSpan s_interval = TimeSpan.FromMilliseconds(200);
    private readonly ServerProcess _gateway;
    private readonly ServerProcess _core;
    private readonly string _gatewayHttp;
    private readonly IReadOnlyList<string> _attackPaths;
    private readonly HttpClient _http = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(1) };
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task _memory;
    private readonly Task _probes;

    public Monitor(ServerProcess gateway, ServerProcess core, string gatewayHttp, IReadOnlyList<string> attackPaths)
    {
        _gateway = gateway;
        _core = core;
        _gatewayHttp = gatewayHttp;
        _attackPaths = attackPaths;
        _memory = MemoryLoopAsync(_stop.Token);
        _probes = ProbeLoopAsync(_stop.Token);
    }

    public long GatewayRssPeakKib { get; private set; }

    public long CoreRssPeakKib { get; private set; }

    /// <summary>Seconds into the phase when the gateway process was first seen gone.</summary>
    public double? GatewayExitedAt { get; private set; }

    public int ReadyOk { get; private set; }

    public int ReadyNot { get; private set; }

    public int ReadyNoAnswer { get; private set; }

    /// <summary>The longest run of /readyz samples that were not 200, in seconds.</summary>
    public double LongestNotReadySeconds { get; private set; }

    /// <summary>The first non-200 /readyz body seen.</summary>
    public string? FirstNotReadyReason { get; private set; }

    public int StatusNoAnswer { get; private set; }

    /// <summary>Times the gateway's listener waited for its accept budget during the phase (<c>connections.accept.waits</c>
    /// in /status, last reading minus first; null when /status has no such field).</summary>
    public long? AcceptWaits => _acceptWaitsLast - _acceptWaitsFirst;

    private long? _acceptWaitsFirst, _acceptWaitsLast;

    /// <summary>The JSON path that exists in /status (null: none of the configured paths).</summary>
    public string? AttackPathFound { get; private set; }

    /// <summary>Seconds from <see cref="MarkFloodStart"/> until the Under Attack field first read "on".</summary>
    public double? UnderAttackAfter { get; private set; }

    private double? _floodStart;
    private long _gatewayRss, _coreRss;
    private readonly List<string> _samples = ["seconds,gateway_rss_kib,core_rss_kib,readyz,under_attack"];

    /// <summary>Every probe as CSV: seconds into the phase, both RSS, /readyz status (0: no answer), the attack field.</summary>
    public void WriteSamples(string path)
    {
        lock (_samples)
        {
            File.WriteAllLines(path, _samples);
        }
    }

    public void MarkFloodStart() => _floodStart = _clock.Elapsed.TotalSeconds;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_memory, _probes);
        _stop.Dispose();
        _http.Dispose();
    }

    private async Task MemoryLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(s_interval);
        try
        {
            do
            {
                _gatewayRss = _gateway.Memory().Rss;
                _coreRss = _core.Memory().Rss;
                GatewayRssPeakKib = Math.Max(GatewayRssPeakKib, _gatewayRss);
                CoreRssPeakKib = Math.Max(CoreRssPeakKib, _coreRss);
                if (_gateway.Exited && GatewayExitedAt is null)
                {
                    GatewayExitedAt = _clock.Elapsed.TotalSeconds;
                }
            }
            while (await timer.WaitForNextTickAsync(ct));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ProbeLoopAsync(CancellationToken ct)
    {
        double notReadySince = -1;
        using var timer = new PeriodicTimer(s_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                double now = _clock.Elapsed.TotalSeconds;
                var (ready, body) = await GetAsync("/readyz", ct);
                if (ready == HttpStatusCode.OK)
                {
                    ReadyOk++;
                    notReadySince = -1;
                }
                else
                {
                    if (ready is null)
                    {
                        ReadyNoAnswer++;
                    }
                    else
                    {
                        ReadyNot++;
                        FirstNotReadyReason ??= $"{(int)ready}: {body?.Trim()}";
                    }

                    notReadySince = notReadySince < 0 ? now : notReadySince;
                    LongestNotReadySeconds = Math.Max(LongestNotReadySeconds, now - notReadySince + s_interval.TotalSeconds);
                }

                var (status, json) = await GetAsync("/status", ct);
                bool? attack = null;
                if (status != HttpStatusCode.OK || json is null)
                {
                    StatusNoAnswer++;
                }
                else
                {
                    if ((attack = ReadAttack(json)) is true && _floodStart is { } start && UnderAttackAfter is null)
                    {
                        UnderAttackAfter = Math.Max(0, _clock.Elapsed.TotalSeconds - start);
                    }

                    if (ReadAcceptWaits(json) is { } waits)
                    {
                        _acceptWaitsFirst ??= waits;
                        _acceptWaitsLast = waits;
                    }
                }

                lock (_samples)
                {
                    _samples.Add(string.Create(CultureInfo.InvariantCulture,
                        $"{now:F1},{_gatewayRss},{_coreRss},{(int)(ready ?? 0)},{(attack is null ? "" : attack.Value ? "on" : "off")}"));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<(HttpStatusCode? Status, string? Body)> GetAsync(string path, CancellationToken ct)
    {
        try
        {
            using var r = await _http.GetAsync(_gatewayHttp + path, ct);
            return (r.StatusCode, await r.Content.ReadAsStringAsync(ct));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return (null, null);
        }
    }

    /// <summary>True/false when one of the configured paths exists ("on": true, a positive number, or a string other
    /// than off/false/none/normal); null when none does.</summary>
    private static long? ReadAcceptWaits(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.TryGetProperty("connections", out var c) && c.TryGetProperty("accept", out var a)
                && a.TryGetProperty("waits", out var w) && w.TryGetInt64(out long n) ? n : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private bool? ReadAttack(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            foreach (var path in _attackPaths)
            {
                var e = doc.RootElement;
                bool found = true;
                foreach (var part in path.Split('.'))
                {
                    if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(part, out e))
                    {
                        found = false;
                        break;
                    }
                }

                if (!found)
                {
                    continue;
                }

                AttackPathFound = path;
                return e.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.Number => e.GetDouble() > 0,
                    JsonValueKind.String => e.GetString()?.ToLowerInvariant() is not (null or "" or "off" or "false" or "none" or "normal"),
                    _ => false,
                };
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }
}
