using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.LoadGen;
using Relay.Testing;
using Relay.Testing.Cluster;
using Relay.Testing.Processes;

namespace Relay.ClusterBench;

/// <summary>
/// ./build.sh bench cluster: the same room load (LoadGen, direct /ws) on one in-memory core-sim, then on one node of a
/// three-node cluster on Redis — per delivered message the node's and the broker's CPU, and p99; then, through a
/// gateway linked to all three nodes, a SIGKILL of the node serving the sessions: time until 99 % of them are served
/// by the others again, and what the load generator counted (lost, duplicated, out of order).
/// </summary>
internal static class ClusterRun
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public static async Task<string> RunAsync(int sessions, int seconds, int roomSize, CancellationToken ct)
    {
        var lines = new List<string>
        {
            $"Cluster bench: {sessions} sessions in rooms of {roomSize}, 20 msg/s each, {seconds} s per run, direct /ws; figures indicative (shared machine).",
            string.Empty,
            "| core | msg sent | delivered | lost | dup | p50 ms | p99 ms | core CPU µs/delivery | broker CPU µs/delivery |",
            "|---|---|---|---|---|---|---|---|---|",
        };

        // 1. One in-memory node (no broker).
        string dir = TempFolders.Create("relay-cluster-bench-");
        int http = Ports.Free();
        using (var single = RelayProcesses.StartCoreSim("core-sim", Path.Combine(dir, "single.log"),
            ["--environment", "Development", "--CoreSim:BindAddress=127.0.0.1", $"--CoreSim:HttpPort={http}", $"--CoreSim:BackhaulPort={Ports.Free()}",
             $"--CoreSim:AdminKey={ClusterLab.AdminKey}", "--Logging:LogLevel:Default=Warning"]))
        {
            var uri = new Uri($"http://127.0.0.1:{http}/");
            await single.WaitForHttpAsync(new Uri(uri, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(60), ct);
            lines.Add(await MeasureAsync("one node, in memory", uri, single.Id, null, sessions, seconds, roomSize, dir, ct));
        }

        // 2. One node of three on Redis, the same load.
        await using var lab = await ClusterLab.StartAsync(3, ct);
        lines.Add(await MeasureAsync("node of 3 on Redis", lab.Nodes[0].Http, lab.Nodes[0].Process.Id, lab.Redis.Pid, sessions, seconds, roomSize, dir, ct));

        // 3. SIGKILL of the node serving the sessions, through a gateway linked to all three.
        await lab.StartGatewayAsync(ct);
        lines.Add(string.Empty);
        lines.Add(await KillAsync(lab, sessions, seconds, roomSize, dir, ct));
        RedisProcess.TryDelete(dir);
        return string.Join('\n', lines);
    }

    private static LoadOptions Load(Uri ws, Uri http, int sessions, int seconds, int roomSize, string dir, string name) => new()
    {
        Scenario = "steady",
        Urls = [ws],
        TokenUrl = new Uri(http, "/v1/tokens"),
        AdminKey = ClusterLab.AdminKey,
        Sessions = sessions,
        RoomSize = roomSize,
        Rate = 20,
        Seconds = seconds,
        Progress = "off",
        OutputDirectory = Path.Combine(dir, name),
    };

    private static async Task<string> MeasureAsync(string label, Uri http, int corePid, int? brokerPid, int sessions, int seconds, int roomSize, string dir, CancellationToken ct)
    {
        var ws = new UriBuilder(http) { Scheme = "ws", Path = "/ws" }.Uri;
        var (core0, broker0) = (ProcCpu.Of(corePid), brokerPid is { } b ? ProcCpu.Of(b) : TimeSpan.Zero);
        var report = await new LoadRunner(Load(ws, http, sessions, seconds, roomSize, dir, label.Replace(' ', '-'))).RunAsync(ct);
        var (core, broker) = (ProcCpu.Of(corePid) - core0, brokerPid is { } p ? ProcCpu.Of(p) - broker0 : TimeSpan.Zero);
        double per = Math.Max(1, report.Received);
        return string.Create(CultureInfo.InvariantCulture,
            $"| {label} | {report.Sent:N0} | {report.Received:N0} | {report.Lost} | {report.Duplicated} | {report.LatencyMs.P50:F2} | {report.LatencyMs.P99:F2} | {core.TotalMicroseconds / per:F1} | {(brokerPid is null ? "—" : (broker.TotalMicroseconds / per).ToString("F1", CultureInfo.InvariantCulture))} |");
    }

    private static async Task<string> KillAsync(ClusterLab lab, int sessions, int seconds, int roomSize, string dir, CancellationToken ct)
    {
        int runSeconds = Math.Max(seconds, 10);
        var run = new LoadRunner(Load(lab.GatewayWs, lab.Nodes[0].Http, sessions, runSeconds, roomSize, dir, "kill")).RunAsync(ct);
        ClusterNode? victim = null;
        for (int i = 0; i < 200 && victim is null && !run.IsCompleted; i++)
        {
            await Task.Delay(100, ct);
            foreach (var node in lab.Nodes)
            {
                if (await RelayedAsync(node, ct) >= sessions)
                {
                    victim = node;
                }
            }
        }

        if (victim is null)
        {
            await run;
            return "kill: no node took every session; nothing killed";
        }

        await Task.Delay(TimeSpan.FromSeconds(2), ct);
        var others = lab.Nodes.Where(n => n != victim).ToList();
        victim.Process.Kill();
        var killed = Stopwatch.StartNew();
        double? resumed99 = null;
        while (resumed99 is null && killed.Elapsed < TimeSpan.FromSeconds(60))
        {
            int served = 0;
            foreach (var node in others)
            {
                served += await RelayedAsync(node, ct);
            }

            if (served >= Math.Ceiling(sessions * 0.99))
            {
                resumed99 = killed.Elapsed.TotalSeconds;
            }
            else
            {
                await Task.Delay(50, ct);
            }
        }

        var report = await run;
        return string.Create(CultureInfo.InvariantCulture,
            $"SIGKILL of {victim.Id} (serving all {sessions} sessions) through a gateway linked to 3 nodes: 99 % of its sessions served by another node after " +
            $"{(resumed99 is { } s ? $"{s:F2} s" : "more than 60 s")}; load generator: sent {report.Sent:N0}, delivered {report.Received:N0} of {report.Expected:N0}, " +
            $"lost {report.Lost}, duplicated {report.Duplicated}, out of order {report.OutOfOrder}, reconnects {report.Reconnects}, p99 {report.LatencyMs.P99:F0} ms.");
    }

    private static async Task<int> RelayedAsync(ClusterNode node, CancellationToken ct)
    {
        try
        {
            var fleet = await s_http.GetFromJsonAsync<JsonElement>(new Uri(node.Http, "/fleet"), ct);
            return fleet.GetProperty("relayedConnections").GetInt32(); // attached through the gateway (detached sessions of earlier runs wait for a resume)
        }
        catch (HttpRequestException)
        {
            return 0;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return 0;
        }
    }
}
