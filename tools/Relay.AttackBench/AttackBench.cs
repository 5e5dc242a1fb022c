using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.LoadGen;

namespace Relay.AttackBench;

/// <summary>Starts core-sim and one gateway, runs the legitimate load without and then with the flood, and writes
/// the comparison (stdout and bench.md). Exit code 1 when legitimate messages were lost or the gateway died.</summary>
internal sealed partial class AttackBench(AttackOptions options)
{
    // Per-relay backhaul keys (core-sim's keyring) and core-sim's admin key, fresh for each run: 32 random bytes, base64.
    private static readonly string s_adminKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private static readonly Dictionary<string, string> s_relayKeys = new()
    {
        ["attack-gw"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
        ["attack-gw-join"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
    };

    // Below this machine's 20,000 open files per process: the flood process's own files (runtime, pipes) fit in it.
    private const int FileHeadroom = 1000;

    private readonly AttackOptions _o = options;
    private readonly string _root = FindRoot();
    private string _out = "";
    private long _fileLimit;
    private string _loadAtStart = "n/a";

    private string CoreHttp => $"http://127.0.0.1:{_o.CoreHttpPort}";

    private string GatewayHttp => $"http://127.0.0.1:{_o.GatewayPort}";

    public async Task<int> RunAsync()
    {
        _fileLimit = Native.RaiseOpenFileLimit();
        _loadAtStart = LoadAverage();
        _out = Path.GetFullPath(_o.OutputDirectory ?? Path.Combine(_root, "artifacts", "bench-attack", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));
        Directory.CreateDirectory(_out);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2 * _o.Seconds + 600));
        var ct = cts.Token;

        // Ctrl-C or SIGTERM: cancel, so every process this bench started is stopped (by its pid) on the way out.
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Cancel);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Cancel);
        void Cancel(System.Runtime.InteropServices.PosixSignalContext context)
        {
            context.Cancel = true;
            cts.Cancel();
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        string release = Path.Combine("bin", "Release", "net10.0");
        string[] quiet = ["--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft=Warning"];
        Console.WriteLine($"attack bench: open-file limit {_fileLimit}; output {_out}");

        await using var core = ServerProcess.Start("core-sim", Path.Combine(_root, "core-sim", release, "Relay.CoreSim.dll"), Path.Combine(_out, "core-sim.log"),
            ["--CoreSim:BindAddress=127.0.0.1", $"--CoreSim:HttpPort={_o.CoreHttpPort}", $"--CoreSim:BackhaulPort={_o.CoreBackhaulPort}", $"--CoreSim:AdminKey={s_adminKey}",
             .. s_relayKeys.Select(kv => $"--CoreSim:RelayKeys:{kv.Key}={kv.Value}"), .. quiet]);
        await core.WaitHttpAsync(http, CoreHttp + "/fleet", ct);
        string publicKey = Path.Combine(_out, "core-public.pem");
        await File.WriteAllTextAsync(publicKey, await http.GetStringAsync(CoreHttp + "/v1/public-key.pem", ct), ct);

        await using var gateway = ServerProcess.Start("gateway", GatewayDll, Path.Combine(_out, "gateway.log"), GatewayArgs(_o.GatewayPort, "attack-gw"), environment: _o.GatewayEnvironment);
        await gateway.WaitHttpAsync(http, GatewayHttp + "/readyz", ct);

        // A short unmeasured run first: both phases then meet warm processes (JIT, pools), not only the second.
        Console.WriteLine("attack bench: warming up (5 s, not reported)");
        await new LoadRunner(LoadFor(Path.Combine(_out, "warmup"), seconds: Math.Min(5, _o.Seconds), warmup: 0, ready: null)).RunAsync(ct);
        var baseline = await RunPhaseAsync("baseline", gateway, core, flood: false, ct);
        Console.WriteLine(Row(baseline));
        PhaseResult? flooded = null;
        if (!gateway.Exited)
        {
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            flooded = await RunPhaseAsync("flood", gateway, core, flood: true, ct);
            Console.WriteLine(Row(flooded));
        }

        var (gwHwm, coreHwm) = (gateway.Memory().Hwm, core.Memory().Hwm);
        bool died = gateway.Exited;
        int? exitCode = gateway.ExitCode;
        string md = Report(baseline, flooded, died, exitCode, gwHwm, coreHwm);
        await File.WriteAllTextAsync(Path.Combine(_out, "bench.md"), md, CancellationToken.None);
        Console.WriteLine();
        Console.WriteLine(md);
        Console.WriteLine($"attack bench: wrote {Path.Combine(_out, "bench.md")}");
        return died || baseline.Lost > 0 || flooded is null || flooded.Lost > 0 ? 1 : 0;
    }

    private async Task<PhaseResult> RunPhaseAsync(string name, ServerProcess gateway, ServerProcess core, bool flood, CancellationToken ct)
    {
        string dir = Path.Combine(_out, name);
        Directory.CreateDirectory(dir);
        string ready = Path.Combine(dir, "connected");
        var gatewayWs = new Uri($"ws://127.0.0.1:{_o.GatewayPort}/ws");
        var load = LoadFor(dir, _o.Seconds, _o.Warmup, ready);
        Console.WriteLine($"attack bench: {name}: {_o.Sessions} sessions x {_o.Rate} msg/s for {_o.Seconds} s{(flood ? $" with a flood of {_o.GatewayConnections} gateway + {_o.BackhaulConnections} backhaul connections from {_o.Sources} addresses" : "")}");
        await using var watch = new Monitor(gateway, core, GatewayHttp, _o.EffectiveAttackPaths);
        var run = new LoadRunner(load).RunAsync(ct);
        var floods = new List<(ServerProcess Process, string Result)>();
        LoadReport report;
        double? joined;
        NewSessionProbe.Result? probeResult;
        var stats = new List<FloodStats>();
        var window = System.Diagnostics.Stopwatch.StartNew();
        var cpuStart = CpuNow(gateway, core, []);
        CpuUse cpu;
        (double PauseSeconds, long Gen2, long Gen1, long Gen0, double AllocatedMiB) gcStart = default, gc = default;
        try
        {
            Task<NewSessionProbe.Result>? probe = null;

            // The flood starts once the legitimate sessions are connected: they are the existing sessions that must go on.
            for (int i = 0; i < 1200 && !File.Exists(ready) && !run.IsCompleted; i++)
            {
                await Task.Delay(100, ct);
            }

            cpuStart = CpuNow(gateway, core, []);
            gcStart = await GatewayGcAsync(ct);
            window.Restart();
            if (flood)
            {
                floods = StartFloods(dir);
                watch.MarkFloodStart();
                probe = NewSessionProbe.RunAsync(gatewayWs, await TokenAsync(ct), TimeSpan.FromSeconds(_o.Seconds - 1), ct);
            }

            // 3 s after the flood started (or the same point without it): a relay connecting to the core.
            var join = RelayJoinAsync(dir, JoinAfter, ct);
            report = await run;
            cpu = CpuNow(gateway, core, floods).Subtract(cpuStart, window.Elapsed.TotalSeconds);
            var gcEnd = await GatewayGcAsync(ct);
            gc = (gcEnd.PauseSeconds - gcStart.PauseSeconds, gcEnd.Gen2 - gcStart.Gen2, gcEnd.Gen1 - gcStart.Gen1, gcEnd.Gen0 - gcStart.Gen0, gcEnd.AllocatedMiB - gcStart.AllocatedMiB);
            joined = await join;
            probeResult = probe is null ? null : await probe;
            foreach (var (process, result) in floods)
            {
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(_o.Seconds + 30));
                while (!process.Exited && !wait.IsCancellationRequested)
                {
                    await Task.Delay(200, CancellationToken.None);
                }

                await process.StopAsync(TimeSpan.FromSeconds(10));
                if (File.Exists(result))
                {
                    stats.AddRange(JsonSerializer.Deserialize<List<FloodStats>>(await File.ReadAllTextAsync(result, CancellationToken.None)) ?? []);
                }
            }
        }
        finally
        {
            // Stops what is still running (an error or Ctrl-C above); each flood process by its pid.
            foreach (var (process, _) in floods)
            {
                await process.DisposeAsync();
            }
        }

        ReportWriter.Write(report, dir);
        watch.WriteSamples(Path.Combine(dir, "samples.csv"));
        return new PhaseResult(name, report, watch, stats, _o.Seconds, probeResult, joined, cpu, gc);
    }

    /// <summary>The gateway's GC so far, from its /metrics (the runtime's meter): pause seconds, collections by generation.</summary>
    private async Task<(double PauseSeconds, long Gen2, long Gen1, long Gen0, double AllocatedMiB)> GatewayGcAsync(CancellationToken ct)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            string text = await http.GetStringAsync(GatewayHttp + "/metrics", ct);
            double pause = 0, allocated = 0;
            long gen0 = 0, gen1 = 0, gen2 = 0;
            foreach (var line in text.Split('\n'))
            {
                int space = line.LastIndexOf(' ');
                if (line.StartsWith('#') || space < 0)
                {
                    continue;
                }

                double value = double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0;
                if (line.StartsWith("dotnet_gc_pause_time_seconds_total", StringComparison.Ordinal))
                {
                    pause += value;
                }
                else if (line.StartsWith("dotnet_gc_heap_total_allocated_bytes_total", StringComparison.Ordinal))
                {
                    allocated += value / (1024 * 1024);
                }
                else if (line.StartsWith("dotnet_gc_collections_total", StringComparison.Ordinal))
                {
                    _ = line.Contains("\"gen2\"", StringComparison.Ordinal) ? gen2 += (long)value : line.Contains("\"gen1\"", StringComparison.Ordinal) ? gen1 += (long)value : gen0 += (long)value;
                }
            }

            return (pause, gen2, gen1, gen0, allocated);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return default;
        }
    }

    /// <summary>CPU seconds used so far by the gateway, core-sim, this process (the legitimate load, the monitor, the
    /// joining relay's starter) and the flood processes.</summary>
    private static CpuUse CpuNow(ServerProcess gateway, ServerProcess core, List<(ServerProcess Process, string Result)> floods) => new(
        gateway.CpuSeconds(),
        core.CpuSeconds(),
        System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,
        floods.Sum(f => f.Process.CpuSeconds()),
        0);

    /// <summary>When the second relay starts, after the sessions connected (and the flood started).</summary>
    private TimeSpan JoinAfter => TimeSpan.FromSeconds(Math.Min(3, _o.Seconds / 2));

    private string GatewayDll => Path.Combine(_root, "gateway", "bin", "Release", "net10.0", "Relay.Gateway.dll");

    // Every legitimate session comes from 127.0.0.1: the per-address session limit is raised for them (only).
    private string[] GatewayArgs(int port, string relayId) =>
    [
        "--Gateway:BindAddress=127.0.0.1", $"--Gateway:HttpPort={port}", $"--Gateway:PublicKeyPath={Path.Combine(_out, "core-public.pem")}",
        $"--Gateway:Backhaul:SharedKey={s_relayKeys[relayId]}", $"--Gateway:Backhaul:Endpoints:0=127.0.0.1:{_o.CoreBackhaulPort}", $"--Gateway:Backhaul:RelayId={relayId}",
        $"--Gateway:MaxSessionsPerIp={_o.Sessions + 100}", $"--Gateway:MaxPreAuthConnectionsPerIp={Math.Min(_o.Sessions + 100, 1000)}", "--Gateway:ShutdownTimeout=00:00:05", "--Gateway:Health:AgentPort=-1",
        "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft=Warning", .. _o.GatewayArgs,
    ];

    /// <summary>A second relay started <paramref name="after"/> into the phase (as one whose link dropped would reconnect):
    /// seconds from its start until its /readyz says 200 (a link to the core is up), or null within 60 s. Stopped after.</summary>
    private async Task<double?> RelayJoinAsync(string dir, TimeSpan after, CancellationToken ct)
    {
        await Task.Delay(after, ct);
        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromSeconds(1) };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await using var relay = ServerProcess.Start("relay-join", GatewayDll, Path.Combine(dir, "relay-join.log"), GatewayArgs(_o.GatewayPort + 1, "attack-gw-join"), environment: _o.GatewayEnvironment);
        while (clock.Elapsed < TimeSpan.FromSeconds(60) && !relay.Exited)
        {
            try
            {
                using var r = await http.GetAsync($"http://127.0.0.1:{_o.GatewayPort + 1}/readyz", ct);
                if (r.IsSuccessStatusCode)
                {
                    return clock.Elapsed.TotalSeconds;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
            }

            await Task.Delay(200, ct);
        }

        return null;
    }

    private LoadOptions LoadFor(string dir, double seconds, double warmup, string? ready) => new()
    {
        Scenario = "steady",
        Urls = [new Uri($"ws://127.0.0.1:{_o.GatewayPort}/ws")],
        TokenUrl = new Uri(CoreHttp + "/v1/tokens"),
        AdminKey = s_adminKey,
        Sessions = _o.Sessions,
        Rate = _o.Rate,
        Seconds = seconds,
        Warmup = warmup,
        Progress = "off",
        ReadyFile = ready,
        OutputDirectory = dir,
    };

    /// <summary>Starts as many flood processes as the per-process file limit needs, each with its share of every kind.</summary>
    private List<(ServerProcess, string)> StartFloods(string dir)
    {
        int halfOpen = (int)Math.Round(_o.GatewayConnections * _o.HalfOpenShare);
        int idle = _o.GatewayConnections - halfOpen;
        int total = _o.GatewayConnections + _o.BackhaulConnections;
        long limit = _fileLimit is > 0 and < 20_000 ? _fileLimit : 20_000;
        int perProcess = (int)Math.Max(1000, limit - FileHeadroom);
        int processes = Math.Max(1, (total + perProcess - 1) / perProcess);
        string self = typeof(AttackBench).Assembly.Location;
        var started = new List<(ServerProcess, string)>();
        for (int p = 0; p < processes; p++)
        {
            string result = Path.Combine(dir, $"flood-{p}.json");
            started.Add((ServerProcess.Start($"flood-{p}", self, Path.Combine(dir, $"flood-{p}.log"),
            [
                "flood", "--gateway", $"127.0.0.1:{_o.GatewayPort}", "--backhaul", $"127.0.0.1:{_o.CoreBackhaulPort}",
                "--idle", Share(idle, p, processes), "--half-open", Share(halfOpen, p, processes),
                "--backhaul-connections", Share(_o.BackhaulConnections, p, processes),
                "--sources", _o.Sources.ToString(CultureInfo.InvariantCulture), "--first-source", "0",
                "--seconds", _o.Seconds.ToString(CultureInfo.InvariantCulture), "--result", result,
                "--connect-concurrency", _o.FloodConnectConcurrency.ToString(CultureInfo.InvariantCulture),
            ], idlePriority: _o.FloodIdlePriority), result));
        }

        return started;

        static string Share(int n, int p, int of) => (n / of + (p < n % of ? 1 : 0)).ToString(CultureInfo.InvariantCulture);
    }

    private async Task<string> TokenAsync(CancellationToken ct)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", s_adminKey);
        using var r = await http.PostAsJsonAsync(CoreHttp + "/v1/tokens", new { sub = "probe", site = "load", role = "visitor", ttlSeconds = 3600 }, ct);
        r.EnsureSuccessStatusCode();
        return (await r.Content.ReadFromJsonAsync<JsonElement>(ct)).GetProperty("token").GetString()!;
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new ArgumentException("Relay.sln not found above " + AppContext.BaseDirectory);
    }
}
