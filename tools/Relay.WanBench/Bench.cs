using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Relay.WanBench;

/// <summary>Command-line options.</summary>
internal sealed class BenchOptions
{
    public int Connects { get; set; } = 30;
    public int ConnectConcurrency { get; set; } = 3;
    public int Sessions { get; set; } = 20;
    public double Rate { get; set; } = 5;
    public int Seconds { get; set; } = 60;
    public double WanOneWayMs { get; set; } = 125;
    public double Loss { get; set; } = 0.01;
    public double NearOneWayMs { get; set; } = 5;
    public TimeSpan RunLimit { get; set; } = TimeSpan.FromMinutes(8);
    public string? Out { get; set; }
    public int HttpSamples { get; set; }

    /// <summary>Issue 22: the gateway's and core-sim's backhaul dual send (bytes; 0 = off); null: their defaults.</summary>
    public int? DuplicateUpTo { get; set; }

    /// <summary>Backhaul links from the gateway to the core (Gateway:Backhaul:LinksPerEndpoint); null: the gateway's default.</summary>
    public int? Links { get; set; }

    /// <summary>Issue 22: the gateway's edge welcome (Gateway:EdgeWelcome).</summary>
    public bool EdgeWelcome { get; set; } = true;

    /// <summary>
    /// The connect phase's four rows (path × kind of client) at the same time, as before 2026-12-03; by default one row
    /// after the other, so a row's sessions share this machine's cores only with each other (see the README).
    /// </summary>
    public bool RowsTogether { get; set; }

    public const string Usage = """
        usage: dotnet run -c Release --project tools/Relay.WanBench -- [options]   (as root)
          --connects N        fresh sessions per path for connect → first echo (30)
          --concurrency N     connect-phase sessions in flight per path (3)
          --sessions N        steady-phase sessions per path (20)
          --rate R            messages per second per steady session (5)
          --seconds S         steady-phase length (60)
          --wan-ms MS         WAN one-way delay (125)
          --loss F            WAN loss each way, 0-1 (0.01)
          --near-ms MS        client ↔ relay one-way delay (5)
          --duplicate-up-to N backhaul dual send for frames up to N bytes, both ways (0 = off; default: the hosts' default)
          --no-edge-welcome   the core welcomes every session (Gateway:EdgeWelcome=false)
          --rows-together     connect phase: the four rows (path × kind of client) at once, not one after the other
          --links N           backhaul links from the gateway to the core (default: the gateway's, 4)
          --out FILE          also write the Markdown table there
          --http N            HTTP mode (issue 18): N first and warm API calls per path instead of the websocket phases
        """;

    public static BenchOptions? Parse(string[] args)
    {
        var o = new BenchOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string? v = i + 1 < args.Length ? args[i + 1] : null;
            bool ok = true;
            switch (a)
            {
                case "--connects": ok = TryInt(v, 1, 10_000, out int c); o.Connects = c; i++; break;
                case "--concurrency": ok = TryInt(v, 1, 100, out int cc); o.ConnectConcurrency = cc; i++; break;
                case "--sessions": ok = TryInt(v, 1, 1000, out int s); o.Sessions = s; i++; break;
                case "--seconds": ok = TryInt(v, 1, 240, out int sec); o.Seconds = sec; i++; break;
                case "--rate": ok = TryDouble(v, 0.1, 100, out double r); o.Rate = r; i++; break;
                case "--wan-ms": ok = TryDouble(v, 0, 2000, out double w); o.WanOneWayMs = w; i++; break;
                case "--loss": ok = TryDouble(v, 0, 0.5, out double l); o.Loss = l; i++; break;
                case "--near-ms": ok = TryDouble(v, 0, 500, out double nm); o.NearOneWayMs = nm; i++; break;
                case "--out": ok = v is not null; o.Out = v; i++; break;
                case "--http": ok = TryInt(v, 1, 1000, out int hs); o.HttpSamples = hs; i++; break;
                case "--duplicate-up-to": ok = TryInt(v, 0, 16384, out int dup); o.DuplicateUpTo = dup; i++; break;
                case "--no-edge-welcome": o.EdgeWelcome = false; break;
                case "--rows-together": o.RowsTogether = true; break;
                case "--links": ok = TryInt(v, 1, 64, out int links); o.Links = links; i++; break;
                case "-h" or "--help": Console.WriteLine(Usage); return null;
                default: ok = false; break;
            }

            if (!ok)
            {
                Console.Error.WriteLine($"wanbench: bad argument '{a}' {v}\n{Usage}");
                return null;
            }
        }

        return o;
    }

    private static bool TryInt(string? v, int min, int max, out int x) =>
        int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out x) && x >= min && x <= max;

    private static bool TryDouble(string? v, double min, double max, out double x) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out x) && x >= min && x <= max;
}

/// <summary>One path's results.</summary>
internal sealed record BenchPath(string Name, bool Direct)
{
    public ConcurrentBag<ConnectSample> Connects { get; } = [];
    public int ConnectFailures;
    public ConcurrentBag<ConnectSample> PipelinedConnects { get; } = [];
    public int PipelinedConnectFailures;
    public ConcurrentQueue<string> Errors { get; } = [];
    public List<double> Rtts { get; } = [];
    public long Sent;
    public long Received;
    public int SteadySessions;
    public int SteadySessionsLost;

    /// <summary>WAN (tunnel UDP) bytes and packets forwarded during this path's steady phase (the paths run one after the other).</summary>
    public long WanBytes;
    public long WanPackets;
}

/// <summary>The two phases over the same WAN: the connect phase row by row (or all rows at once), the steady phase path by path.</summary>
internal sealed class Bench(BenchOptions options, X509Certificate2 pinned, Func<BenchPath, Uri> url)
{
    private static readonly TimeSpan ConnectLimit = TimeSpan.FromSeconds(30);

    public async Task WarmUpAsync(BenchPath path, CancellationToken token)
    {
        for (int i = 0; i < 2; i++)
        {
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
            limit.CancelAfter(TimeSpan.FromSeconds(30));
            var (probe, _) = await SessionProbe.ConnectAsync(url(path), pinned, limit.Token);
            await probe.DisposeAsync();
        }
    }

    /// <summary>Fresh sessions, <see cref="BenchOptions.ConnectConcurrency"/> at a time: connect start → first echo.</summary>
    public async Task ConnectPhaseAsync(BenchPath path, bool pipelined, CancellationToken token)
    {
        var samples = pipelined ? path.PipelinedConnects : path.Connects;
        int next = 0;
        var workers = Enumerable.Range(0, options.ConnectConcurrency).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) <= options.Connects)
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
                limit.CancelAfter(ConnectLimit);
                try
                {
                    var (probe, sample) = await SessionProbe.ConnectAsync(url(path), pinned, limit.Token, pipelined);
                    samples.Add(sample);
                    await probe.DisposeAsync();
                }
                catch (Exception e) when (!token.IsCancellationRequested && e is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
                {
                    Interlocked.Increment(ref pipelined ? ref path.PipelinedConnectFailures : ref path.ConnectFailures);
                    path.Errors.Enqueue($"connect{(pipelined ? " (pipelined)" : "")}: {e.GetType().Name}: {e.Message}");
                }
            }
        }, token));
        await Task.WhenAll(workers);
    }

    /// <summary><see cref="BenchOptions.Sessions"/> sessions echoing at <see cref="BenchOptions.Rate"/> for the duration.</summary>
    public async Task SteadyPhaseAsync(BenchPath path, CancellationToken token)
    {
        var probes = new List<SessionProbe>();
        try
        {
            var opened = await Task.WhenAll(Enumerable.Range(0, options.Sessions).Select(async _ =>
            {
                for (int attempt = 0; ; attempt++)
                {
                    using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
                    limit.CancelAfter(ConnectLimit);
                    try
                    {
                        return (await SessionProbe.ConnectAsync(url(path), pinned, limit.Token)).Probe;
                    }
                    catch (Exception e) when (attempt < 2 && !token.IsCancellationRequested && e is WebSocketException or OperationCanceledException or HttpRequestException or IOException)
                    {
                        path.Errors.Enqueue($"steady connect: {e.Message}");
                    }
                }
            }));
            probes.AddRange(opened);
            path.SteadySessions = probes.Count;

            var interval = TimeSpan.FromSeconds(1 / options.Rate);
            var duration = TimeSpan.FromSeconds(options.Seconds);
            await Task.WhenAll(probes.Select((p, i) => RunSessionAsync(path, p, i, interval, duration, token)));
        }
        finally
        {
            foreach (var p in probes)
            {
                await p.DisposeAsync();
            }
        }
    }

    private async Task RunSessionAsync(BenchPath path, SessionProbe probe, int index, TimeSpan interval, TimeSpan duration, CancellationToken token)
    {
        var pending = new ConcurrentDictionary<long, long>();
        var rtts = new List<double>();
        long received = 0;
        using var readerStop = CancellationTokenSource.CreateLinkedTokenSource(token);
        var allEchoed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        bool sendingDone = false;
        bool lost = false;
        var reader = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var m = await probe.ReceiveAsync(readerStop.Token);
                    if (m is null)
                    {
                        lost = true;
                        path.Errors.Enqueue($"steady: session {index} closed by the server: {probe.Socket.CloseStatus} {probe.Socket.CloseStatusDescription}");
                        return;
                    }

                    long now = Stopwatch.GetTimestamp();
                    if (m.Value.Type == "msg" && long.TryParse(m.Value.Body, NumberStyles.Integer, CultureInfo.InvariantCulture, out long id) && pending.TryRemove(id, out long sentAt))
                    {
                        rtts.Add(Clock.Ms(sentAt, now));
                        received++;
                        if (Volatile.Read(ref sendingDone) && pending.IsEmpty)
                        {
                            allEchoed.TrySetResult();
                        }
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
            {
                if (!readerStop.IsCancellationRequested)
                {
                    lost = true;
                    path.Errors.Enqueue($"steady: session {index}: {e.Message}");
                }
            }
        }, CancellationToken.None);

        // Start times spread over one interval so the sessions do not send in lockstep.
        long start = Stopwatch.GetTimestamp() + (long)(interval.TotalSeconds * Stopwatch.Frequency * index / options.Sessions);
        long end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        long sent = 0;
        try
        {
            for (long k = 0; ; k++)
            {
                long due = start + (long)(k * interval.TotalSeconds * Stopwatch.Frequency);
                if (due >= end || lost)
                {
                    break;
                }

                await Clock.SleepUntilAsync(due, token);
                long msgId = (index * 1_000_000L) + k;
                pending[msgId] = Stopwatch.GetTimestamp();
                await probe.SendMsgAsync(msgId.ToString(CultureInfo.InvariantCulture), token);
                sent++;
            }
        }
        catch (Exception e) when (!token.IsCancellationRequested && e is WebSocketException or IOException)
        {
            lost = true;
            path.Errors.Enqueue($"steady: session {index} send: {e.Message}");
        }

        Volatile.Write(ref sendingDone, true);
        if (pending.IsEmpty)
        {
            allEchoed.TrySetResult();
        }

        // Grace for the last echoes (a retransmission or two on the lossy WAN), then whatever is missing is lost.
        await Task.WhenAny(allEchoed.Task, Task.Delay(TimeSpan.FromSeconds(10), token), reader);
        await readerStop.CancelAsync();
        await reader;
        lock (path.Rtts)
        {
            path.Rtts.AddRange(rtts);
            path.Sent += sent;
            path.Received += received;
            if (lost)
            {
                path.SteadySessionsLost++;
            }
        }
    }
}

internal static class Report
{
    public static string Markdown(BenchOptions o, IReadOnlyList<BenchPath> paths, long forwarded, long dropped)
    {
        var sb = new StringBuilder();
        var direct = paths.First(p => p.Direct);
        var relay = paths.First(p => !p.Direct);
        double wanRtt = 2 * o.WanOneWayMs;
        sb.AppendLine(CultureInfo.InvariantCulture, $"WAN {wanRtt:0} ms RTT, {o.Loss:P1} loss each way (WireGuard + userspace delay line); near link {2 * o.NearOneWayMs:0} ms RTT; {o.Connects} fresh sessions per path and kind of client ({o.ConnectConcurrency} at a time, {(o.RowsTogether ? "all four rows at once" : "one row after the other")}), then {o.Sessions} sessions per path × {o.Rate:0.#} msg/s for {o.Seconds} s, one path after the other; edge welcome {(o.EdgeWelcome ? "on" : "off")}, backhaul dual send {(o.DuplicateUpTo is { } dup ? (dup == 0 ? "off" : $"frames ≤ {dup} B") : "host default")}, {(o.Links is { } l ? $"{l}" : "default")} backhaul links.");
        sb.AppendLine();
        // Two floors. "TCP + TLS + upgrade": that path's p50 of the handshakes every client makes, + one WAN round trip.
        // "This client's": the handshakes this kind of client makes before its first message (a client that waits for
        // the welcome also waits for the hello → welcome exchange: local through the relay, a WAN round trip direct),
        // p50 over its own sessions, + one WAN round trip: issue 22's "local handshakes + one WAN RTT" for each client.
        sb.AppendLine("| path | client | connect → first echo p50 / p99 (ms) | floor: TCP + TLS + upgrade p50 + WAN RTT (ms) | p50 / floor | floor: this client's handshakes p50 + WAN RTT (ms) | p50 / floor | sessions ok / failed |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var p in paths)
        {
            double floor = Percentile(p.Connects.Concat(p.PipelinedConnects).Select(c => c.Open).ToList(), 50) + wanRtt;
            foreach (bool pipelined in new[] { false, true })
            {
                var connects = pipelined ? p.PipelinedConnects : p.Connects;
                var samples = connects.Select(c => c.FirstEcho).ToList();
                double own = Percentile(connects.Select(c => pipelined ? c.Open : c.Welcome).ToList(), 50) + wanRtt;
                int failed = pipelined ? p.PipelinedConnectFailures : p.ConnectFailures;
                string kind = pipelined ? "first msg behind the hello" : "waits for the welcome";
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Label(p)} | {kind} | {P(samples, 50)} / {P(samples, 99)} | {floor:0} | {Percentile(samples, 50) / floor:0.00} | {own:0} | {Percentile(samples, 50) / own:0.00} | {samples.Count} / {failed} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("| path | message RTT p50 / p99 / p99.9 (ms) | p99 / p50 | messages | lost | WAN bytes per message (tunnel UDP, both ways) |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var p in paths)
        {
            double perMessage = p.Received == 0 ? double.NaN : (double)p.WanBytes / p.Received;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {Label(p)} | {P(p.Rtts, 50)} / {P(p.Rtts, 99)} / {P(p.Rtts, 99.9)} | {Percentile(p.Rtts, 99) / Percentile(p.Rtts, 50):0.00} | {p.Sent:N0} | {p.Sent - p.Received:N0} | {perMessage:N0} ({p.WanPackets:N0} packets) |");
        }

        sb.AppendLine();
        foreach (bool pipelined in new[] { false, true })
        {
            var d = (pipelined ? direct.PipelinedConnects : direct.Connects).Select(c => c.FirstEcho).ToList();
            var r = (pipelined ? relay.PipelinedConnects : relay.Connects).Select(c => c.FirstEcho).ToList();
            sb.AppendLine(CultureInfo.InvariantCulture, $"Session start through the relay, client that {(pipelined ? "sends its first msg behind the hello" : "waits for the welcome")}: **{Percentile(d, 50) / Percentile(r, 50):0.00}× faster at p50**, {Percentile(d, 99) / Percentile(r, 99):0.00}× at p99.");
        }

        sb.AppendLine();
        sb.AppendLine("Connect phase, p50 of each step from connect start (ms), client that waits for the welcome:");
        sb.AppendLine();
        sb.AppendLine("| path | TCP + TLS + upgrade | + hello → welcome | + msg → echo |");
        sb.AppendLine("|---|---:|---:|---:|");
        foreach (var p in paths)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {p.Name} | {P(p.Connects.Select(c => c.Open).ToList(), 50)} | {P(p.Connects.Select(c => c.Welcome).ToList(), 50)} | {P(p.Connects.Select(c => c.FirstEcho).ToList(), 50)} |");
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Delay line during the measurement: {forwarded:N0} tunnel packets forwarded, {dropped:N0} dropped ({(forwarded + dropped == 0 ? 0 : 100.0 * dropped / (forwarded + dropped)):0.00} %).");
        foreach (var p in paths)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{p.Name}: steady sessions {p.SteadySessions}, ended early {p.SteadySessionsLost}; errors: {(p.Errors.IsEmpty ? "none" : string.Join("; ", p.Errors.Distinct().Take(5)))}");
        }

        return sb.ToString();
    }

    private static string Label(BenchPath p) => p.Direct ? "direct: client → WAN → core-sim (wss)" : "relay: client → near link → gateway (wss) → WAN (tunnel, warm links) → core-sim";

    private static string P(List<double> values, double p) => Format(values, p);

    /// <summary>A percentile in whole milliseconds, or – without samples.</summary>
    public static string Format(List<double> values, double p) =>
        values.Count == 0 ? "–" : Percentile(values, p).ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>Nearest-rank percentile.</summary>
    public static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        int rank = (int)Math.Ceiling(p / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
