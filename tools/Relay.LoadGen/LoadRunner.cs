using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using HdrHistogram;

namespace Relay.LoadGen;

/// <summary>Runs a scenario against gateways or core-sim and measures it.</summary>
public sealed partial class LoadRunner(LoadOptions options)
{
    private static readonly double[] s_curvePercentiles = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];
    private readonly LoadOptions _options = options;
    private readonly ShardedHistogram _latency = new(TimeStamp.Hours(1), 3);
    private readonly ShardedHistogram _latencyInterval = new(TimeStamp.Hours(1), 2); // since the last timeline point
    private readonly ShardedHistogram _connect = new(TimeStamp.Minutes(10), 3);
    private readonly ConcurrentDictionary<string, int> _closes = new();
    private readonly ReasonCounter _connectFailures = new(); // sessions that never connected, by their last attempt's reason
    private readonly ReasonCounter _failedAttempts = new(); // every failed upgrade, by reason
    private readonly List<TimelinePoint> _timeline = [];
    private CrossCpuProbe? _probe; // --cross-cpu-probe
    private readonly Stopwatch _clock = new();
    private long _sent, _received, _duplicated, _outOfOrder, _skipped;
    private int _reconnects, _connected, _restarted;
    private long _measureFrom = long.MaxValue;
    private readonly CancellationTokenSource _stopSending = new();
    private volatile string _phase = "starting";

    /// <summary>Sessions that share a user (a token's sub): well under core-sim's CoreSim:MaxDetachedSessionsPerUser (32),
    /// which ends the oldest of one user's dropped sessions past it, so a failover that drops every session of a user at
    /// once still resumes them all. One token for all sessions (before stop 43) made 100,000 sessions one user.</summary>
    public const int SessionsPerSubject = 16;

    /// <summary>What the run has done so far (for the live display); safe to call from any thread.</summary>
    public LoadProgress Snapshot()
    {
        var latency = Summarise(_latency.Merge());
        return new LoadProgress(_phase, _clock.Elapsed.TotalSeconds, _options.Sessions, Volatile.Read(ref _connected), _connectFailures.Total,
            Interlocked.Read(ref _sent), Interlocked.Read(ref _received), Volatile.Read(ref _reconnects),
            Interlocked.Read(ref _duplicated), Interlocked.Read(ref _outOfOrder), latency, Interlocked.Read(ref _skipped))
        {
            FailedAttempts = _failedAttempts.Total,
            TopFailedAttempt = _failedAttempts.Top(),
        };
    }

    /// <summary>Runs to completion (bounded by Seconds plus a drain of at most 15 s).</summary>
    public async Task<LoadReport> RunAsync(CancellationToken cancellationToken = default)
    {
        _options.Validate();
        if (_options.Urls.Count == 0)
        {
            _options.Urls.Add(LoadOptions.DefaultUrl);
        }

        _clock.Start();
        if (_options.CrossCpuProbe && (_probe = CrossCpuProbe.Start(out string? whyNot)) is null)
        {
            Console.Error.WriteLine($"loadgen: {whyNot}");
        }

        using var probe = _probe;
        using var http = new HttpClient();
        if (_options.AdminKey is { } adminKey)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", adminKey);
        }

        _phase = "tokens";
        var tokens = await MintTokensAsync(http, cancellationToken).ConfigureAwait(false);

        // The upgrades' HTTP handler, under each session's UpgradeFailureHandler (which tells why an upgrade failed): on
        // HTTP/1.1 one for all sessions, as ClientWebSocket's own default is (a connection per upgrade, none reused);
        // --http2 sessions each get their own, one HTTP/2 connection per session as the client would make.
        using var upgrades = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero, UseProxy = false, UseCookies = false };
        var workers = Enumerable.Range(0, _options.Sessions).Select(i => new Worker(this, i, tokens[i / SessionsPerSubject], upgrades)).ToArray();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var sampler = SampleAsync(sampling.Token);
        _phase = "connecting";
        var connectStart = Stopwatch.StartNew();
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
        double connectSeconds = connectStart.Elapsed.TotalSeconds;

        var live = workers.Where(w => w.Connected).ToArray();
        if (_options.RoomSize > 0)
        {
            foreach (var room in live.GroupBy(w => w.Room))
            {
                var members = room.ToArray();
                foreach (var w in members)
                {
                    w.Peers = members;
                }
            }
        }

        if (_options.ReadyFile is { } ready)
        {
            await File.WriteAllTextAsync(ready, live.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n", cancellationToken).ConfigureAwait(false);
        }

        var sendStart = Stopwatch.StartNew();
        long receivedAtMeasure = 0, sentAtMeasure = 0;
        double measuredSeconds;
        if (_options.Scenario == "connect-storm")
        {
            _phase = "one message each";
            Interlocked.Exchange(ref _measureFrom, 0);
            await Task.WhenAll(live.Select(w => w.SendOneAsync(cancellationToken))).ConfigureAwait(false);
            measuredSeconds = sendStart.Elapsed.TotalSeconds;
        }
        else if (_options.Scenario == "idle")
        {
            _phase = "holding idle sessions";
            using var holding = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopSending.Token);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(_options.Seconds), holding.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopSending.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // stopped early (a signal): close and report as at the end
            }

            measuredSeconds = sendStart.Elapsed.TotalSeconds;
        }
        else
        {
            _phase = _options.Warmup > 0 ? "warming up" : "sending";
            using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopSending.Token);
            sending.CancelAfter(TimeSpan.FromSeconds(_options.Seconds));
            var measure = Task.Delay(TimeSpan.FromSeconds(_options.Warmup), sending.Token).ContinueWith(
                _ =>
                {
                    Interlocked.Exchange(ref _measureFrom, Stopwatch.GetTimestamp());
                    Interlocked.Exchange(ref receivedAtMeasure, Interlocked.Read(ref _received));
                    Interlocked.Exchange(ref sentAtMeasure, Interlocked.Read(ref _sent));
                    _phase = "sending";
                },
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var faults = _options.Scenario == "failover" ? KickLoopAsync(http, sending.Token) : Task.CompletedTask;
            await (double.IsPositiveInfinity(_options.Rate)
                ? Task.WhenAll(live.Select(w => w.SendClosedLoopAsync(sending.Token)))
                : PaceAsync(live, _options.Rate, _options.Seconds, sending.Token)).ConfigureAwait(false);
            await faults.ConfigureAwait(false);
            await measure.ConfigureAwait(false);
            measuredSeconds = Math.Max(sendStart.Elapsed.TotalSeconds - _options.Warmup, 0.001);
        }

        long receivedInWindow = Interlocked.Read(ref _received) - Interlocked.Read(ref receivedAtMeasure);
        long sentInWindow = Interlocked.Read(ref _sent) - Interlocked.Read(ref sentAtMeasure);
        _phase = "draining";
        var drainUntil = Stopwatch.StartNew();
        while (Interlocked.Read(ref _received) < Expected(live) && drainUntil.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }

        _phase = "closing";
        await Task.WhenAll(workers.Select(w => w.StopAsync())).ConfigureAwait(false);
        await sampling.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        _phase = "done";
        long lost = live.Sum(w => w.Lost());
        var latency = _latency.Merge();
        var connect = _connect.Merge();
        return new LoadReport(
            _options.Scenario, _options.Sessions, live.Length, _connectFailures.Total, _sent, _received, lost, _duplicated, _outOfOrder,
            Math.Round(_clock.Elapsed.TotalSeconds, 2), Math.Round(receivedInWindow / measuredSeconds, 1),
            Summarise(latency), Summarise(connect), _reconnects, new Dictionary<string, int>(_closes), Environment.CommandLine)
        {
            RoomSize = _options.RoomSize,
            Expected = Expected(live),
            RatePerSession = _options.IsTimed ? _options.Rate : 0,
            Window = _options.Window,
            Http2 = _options.Http2,
            WarmupSeconds = _options.IsTimed ? _options.Warmup : 0,
            SentPerSecond = Math.Round(sentInWindow / measuredSeconds, 1),
            ConnectSeconds = Math.Round(connectSeconds, 3),
            SessionsPerSecond = Math.Round(live.Length / Math.Max(connectSeconds, 0.001), 1),
            LatencyCurve = Curve(latency),
            ConnectCurve = Curve(connect),
            Timeline = [.. _timeline],
            LoadGenCpuSeconds = Math.Round(Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, 2),
            StoppedEarly = _stopSending.IsCancellationRequested,
            SessionsRestarted = _restarted,
            ConnectFailuresByReason = _connectFailures.Snapshot(),
            FailedAttemptsByReason = _failedAttempts.Snapshot(),
        };
    }

    /// <summary>
    /// Ends the sending (or holding) phase now instead of at --seconds (Ctrl-C or SIGTERM): the run then drains and
    /// reports as at its normal end, with <see cref="LoadReport.StoppedEarly"/> set. No effect once sending is over.
    /// </summary>
    public void StopSending() => _stopSending.Cancel();

    /// <summary>Deliveries expected for what was sent: echo, each message once; rooms, once per other member.</summary>
    private long Expected(Worker[] live) => _options.RoomSize > 0 ? live.Sum(w => w.SentCount * (w.Peers.Length - 1)) : live.Sum(w => w.SentCount);

    private async Task SampleAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                var interval = _latencyInterval.MergeAndReset();
                double p99 = interval.TotalCount == 0 ? 0 : Math.Round(interval.GetValueAtPercentile(99) / (double)TimeSpan.TicksPerMillisecond, 2);
                double max = interval.TotalCount == 0 ? 0 : Math.Round(interval.GetMaxValue() / (double)TimeSpan.TicksPerMillisecond, 2);
                lock (_timeline)
                {
                    _timeline.Add(new TimelinePoint(Math.Round(_clock.Elapsed.TotalSeconds, 2), Volatile.Read(ref _connected), Interlocked.Read(ref _sent), Interlocked.Read(ref _received), p99, max,
                        _probe?.TakeSecond() ?? 0));
                }
            }
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
        }
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
                r.EnsureSuccessStatusCode(); // 401: core-sim's admin key (--admin-key) is missing or wrong
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

    private static PercentilePoint[] Curve(LongHistogram h) => h.TotalCount == 0
        ? []
        : [.. s_curvePercentiles.Select(p => new PercentilePoint(p, Math.Round(h.GetValueAtPercentile(p) / (double)TimeSpan.TicksPerMillisecond, 3)))];

    /// <summary>A token per <see cref="SessionsPerSubject"/> sessions (subs load-0, load-1, ...; site load), a few
    /// requests at a time. Room mode: operators (a visitor may join only its own room, named by its sub); echo mode: visitors.</summary>
    private async Task<string[]> MintTokensAsync(HttpClient http, CancellationToken cancellationToken)
    {
        string role = _options.RoomSize > 0 ? "operator" : "visitor";
        var tokens = new string[(_options.Sessions + SessionsPerSubject - 1) / SessionsPerSubject];
        await Parallel.ForAsync(0, tokens.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            using var response = await http.PostAsJsonAsync(_options.TokenUrl, new { sub = $"load-{i}", site = "load", role, ttlSeconds = 7200 }, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new IOException($"{_options.TokenUrl}: HTTP {(int)response.StatusCode} for a {role} token{(_options.AdminKey is null ? " (no --admin-key given: core-sim needs it for operator tokens and outside Development)" : string.Empty)}: {await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false)}");
            }

            tokens[i] = (await response.Content.ReadFromJsonAsync<JsonElement>(ct).ConfigureAwait(false)).GetProperty("token").GetString()!;
        }).ConfigureAwait(false);
        return tokens;
    }
}
