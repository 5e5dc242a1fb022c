using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using HdrHistogram;
using Relay.Client;

namespace Relay.LoadGen;

/// <summary>Runs a scenario against gateways or core-sim and measures it.</summary>
public sealed class LoadRunner(LoadOptions options)
{
    private readonly LoadOptions _options = options;
    private readonly LongHistogram _latency = new(TimeStamp.Hours(1), 3);
    private readonly LongHistogram _connect = new(TimeStamp.Minutes(10), 3);
    private readonly ConcurrentDictionary<string, int> _closes = new();
    private long _sent, _received, _duplicated, _outOfOrder;
    private int _reconnects, _connectFailures;

    /// <summary>Runs to completion (bounded by Seconds plus a drain of at most 15 s).</summary>
    public async Task<LoadReport> RunAsync(CancellationToken cancellationToken = default)
    {
        _options.Validate();
        if (_options.Urls.Count == 0)
        {
            _options.Urls.Add(new Uri("ws://127.0.0.1:7080/ws"));
        }

        using var http = new HttpClient();
        using var tokenResponse = await http.PostAsJsonAsync(_options.TokenUrl, new { sub = "load", site = "load", role = "visitor", ttlSeconds = 7200 }, cancellationToken).ConfigureAwait(false);
        tokenResponse.EnsureSuccessStatusCode();
        var token = (await tokenResponse.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false)).GetProperty("token").GetString()!;

        var workers = Enumerable.Range(0, _options.Sessions).Select(i => new Worker(this, i, token)).ToArray();
        var started = Stopwatch.StartNew();
        using var gate = new SemaphoreSlim(_options.ConnectConcurrency);
        await Task.WhenAll(workers.Select(async w =>
        {
            await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await w.ConnectAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                gate.Release();
            }
        })).ConfigureAwait(false);

        var live = workers.Where(w => w.Connected).ToArray();
        var sendStart = Stopwatch.StartNew();
        if (_options.Scenario == "connect-storm")
        {
            await Task.WhenAll(live.Select(w => w.SendOneAsync(cancellationToken))).ConfigureAwait(false);
        }
        else
        {
            using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            sending.CancelAfter(TimeSpan.FromSeconds(_options.Seconds));
            var faults = _options.Scenario == "failover" ? KickLoopAsync(http, sending.Token) : Task.CompletedTask;
            await Task.WhenAll(live.Select(w => w.SendSteadyAsync(sending.Token))).ConfigureAwait(false);
            await faults.ConfigureAwait(false);
        }

        double sendSeconds = sendStart.Elapsed.TotalSeconds;
        var drainUntil = Stopwatch.StartNew();
        while (Interlocked.Read(ref _received) < Interlocked.Read(ref _sent) && drainUntil.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        await Task.WhenAll(workers.Select(w => w.StopAsync())).ConfigureAwait(false);
        long lost = workers.Sum(w => w.Lost);
        return new LoadReport(
            _options.Scenario, _options.Sessions, live.Length, _connectFailures, _sent, _received, lost, _duplicated, _outOfOrder,
            Math.Round(started.Elapsed.TotalSeconds, 2), Math.Round(_received / Math.Max(sendSeconds, 0.001), 1),
            Summarise(_latency), Summarise(_connect), _reconnects, new Dictionary<string, int>(_closes), Environment.CommandLine);
    }

    private async Task KickLoopAsync(HttpClient http, CancellationToken ct)
    {
        var faultUrl = _options.FaultUrl ?? new Uri(_options.TokenUrl, "/v1/faults/");
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(_options.FaultEvery), ct).ConfigureAwait(false);
                using var r = await http.PostAsJsonAsync(new Uri(faultUrl, "kick"), new { count = Math.Max(1, _options.Sessions / 4), code = 1001 }, ct).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Percentiles Summarise(LongHistogram h)
    {
        double Ms(double p) => h.TotalCount == 0 ? 0 : Math.Round(h.GetValueAtPercentile(p) / (double)TimeSpan.TicksPerMillisecond, 3);
        return new Percentiles(Ms(50), Ms(90), Ms(99), Ms(99.9), Ms(100), h.TotalCount);
    }

    private void Record(LongHistogram h, long ticks)
    {
        lock (h)
        {
            h.RecordValue(Math.Max(0, ticks));
        }
    }

    /// <summary>One session: sends numbered bodies "n:timestamp" and checks the echoes.</summary>
    private sealed class Worker(LoadRunner runner, int index, string token)
    {
        private RelayClient? _client;
        private Task? _reader;
        private long _sent;
        private long _next = 1;
        private readonly TaskCompletionSource _gotOne = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Connected { get; private set; }

        public long Lost => Math.Max(0, _sent - (_next - 1));

        public async Task ConnectAsync(CancellationToken ct)
        {
            var o = runner._options;
            _client = new RelayClient(new RelayClientOptions
            {
                UrlFactory = attempt => o.Urls[(index + attempt) % o.Urls.Count],
                TokenProvider = _ => ValueTask.FromResult(token),
                Rooms = [],
            });
            _client.StateChanged += change =>
            {
                if (change.State == RelayClientState.Reconnecting)
                {
                    Interlocked.Increment(ref runner._reconnects);
                    runner._closes.AddOrUpdate(change.CloseCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none", 1, (_, n) => n + 1);
                }
            };
            long start = Stopwatch.GetTimestamp();
            try
            {
                await _client.ConnectAsync(ct).ConfigureAwait(false);
                runner.Record(runner._connect, Stopwatch.GetElapsedTime(start).Ticks);
                Connected = true;
                _reader = ReadAsync();
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException)
            {
                Interlocked.Increment(ref runner._connectFailures);
            }
        }

        public async Task SendOneAsync(CancellationToken ct)
        {
            await SendAsync(ct).ConfigureAwait(false);
            await _gotOne.Task.WaitAsync(TimeSpan.FromSeconds(15), ct).ConfigureAwait(false);
        }

        public async Task SendSteadyAsync(CancellationToken ct)
        {
            var period = TimeSpan.FromSeconds(1 / runner._options.Rate);
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * period.TotalMilliseconds), CancellationToken.None).ConfigureAwait(false);
            using var timer = new PeriodicTimer(period);
            try
            {
                while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
                {
                    await SendAsync(ct).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        public async Task StopAsync()
        {
            if (_client is not null)
            {
                await _client.CloseAsync().ConfigureAwait(false);
            }

            if (_reader is not null)
            {
                await _reader.ConfigureAwait(false);
            }
        }

        private async Task SendAsync(CancellationToken ct)
        {
            // Counted once queued: the client then owns delivery (resume and replay), so a later loss is real.
            ct.ThrowIfCancellationRequested();
            long n = _sent + 1;
            await _client!.SendAsync($"{n}:{Stopwatch.GetTimestamp()}", cancellationToken: CancellationToken.None).ConfigureAwait(false);
            _sent = n;
            Interlocked.Increment(ref runner._sent);
        }

        private async Task ReadAsync()
        {
            await foreach (var m in _client!.ReadAllAsync().ConfigureAwait(false))
            {
                int colon = m.Body.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0 || !long.TryParse(m.Body.AsSpan(0, colon), out long n) || !long.TryParse(m.Body.AsSpan(colon + 1), out long ts))
                {
                    continue;
                }

                runner.Record(runner._latency, Stopwatch.GetElapsedTime(ts).Ticks);
                if (n == _next)
                {
                    _next++;
                    Interlocked.Increment(ref runner._received);
                }
                else if (n < _next)
                {
                    Interlocked.Increment(ref runner._duplicated);
                }
                else
                {
                    Interlocked.Increment(ref runner._outOfOrder);
                    _next = n + 1;
                    Interlocked.Increment(ref runner._received);
                }

                _gotOne.TrySetResult();
            }
        }
    }
}
