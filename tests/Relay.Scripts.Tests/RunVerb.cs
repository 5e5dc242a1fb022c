using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.RegularExpressions;
using NUnit.Framework;
using Relay.Testing;
using Relay.Testing.Processes;

namespace Relay.Scripts.Tests;

/// <summary>What the tests of `build.sh run` and `build.ps1 run` share: a run refused, a run running as a user checks it, and its end.</summary>
internal static partial class RunVerb
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>The four port options of both scripts' run verb.</summary>
    public static string[] PortArgs(int core, int backhaul, int gateway, int agent) =>
    [
        "--core-port", core.ToString(CultureInfo.InvariantCulture), "--backhaul-port", backhaul.ToString(CultureInfo.InvariantCulture),
        "--gateway-port", gateway.ToString(CultureInfo.InvariantCulture), "--agent-port", agent.ToString(CultureInfo.InvariantCulture),
    ];

    /// <summary>
    /// Runs the verb (<paramref name="run"/> gets its arguments) with its gateway port held by this test process: one
    /// line naming the holder, exit 1, before building or starting anything.
    /// </summary>
    public static async Task AssertRefusesATakenPortAsync(Func<string[], Task<ProcessResult>> run)
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int taken = ((IPEndPoint)holder.LocalEndpoint).Port;
        var result = await run(["run", .. PortArgs(Ports.Free(), Ports.Free(), taken, Ports.Free())]);
        string[] errors = result.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(1));
            Assert.That(errors, Has.Length.EqualTo(1), result.StdErr);
            Assert.That(errors.FirstOrDefault(), Does.StartWith($"run: port {taken} is taken by "));
            Assert.That(result.StdOut, Does.Not.Contain("building"), "refused before building or starting anything");
            if (OperatingSystem.IsLinux())
            {
                Assert.That(errors.FirstOrDefault(), Does.Contain($"(pid {Environment.ProcessId})"), "names the process holding the port");
            }
        });
    }

    /// <summary>
    /// Waits until <paramref name="run"/> (started with <see cref="PortArgs"/>) prints that Relay is running, then checks
    /// what a user would: the gateway's /readyz is 200 and core-sim answers on their ports, the run's own folder with its
    /// logs, key and pids, the URLs and a visitor token printed, both processes alive. The pids go into
    /// <paramref name="pids"/> as soon as they are known (the caller's cleanup ends them); returns the run's folder.
    /// </summary>
    public static async Task<string> WaitUntilRunningAsync(ChildProcess run, int core, int gateway, List<int> pids, CancellationToken ct)
    {
        // It builds core-sim and the gateway first (nothing to do when they are built).
        await run.WaitForOutputAsync("Ctrl-C stops both", TimeSpan.FromMinutes(8), ct);
        string output = run.Tail(60);
        using (var readyz = await s_http.GetAsync($"http://127.0.0.1:{gateway}/readyz", ct))
        {
            Assert.That(readyz.StatusCode, Is.EqualTo(HttpStatusCode.OK), "running is printed once /readyz is 200");
        }

        using (var coreHealth = await s_http.GetAsync($"http://127.0.0.1:{core}/healthz", ct))
        {
            Assert.That(coreHealth.StatusCode, Is.EqualTo(HttpStatusCode.OK), "core-sim on --core-port");
        }

        string folder = LogsIn().Match(output).Groups[1].Value;
        Assert.That(Directory.Exists(folder), Is.True, "the run's own folder: " + output);
        pids.AddRange(new[] { "core-sim.pid", "gateway.pid" }.Select(f => int.Parse(File.ReadAllText(Path.Combine(folder, f)).Trim(), CultureInfo.InvariantCulture)));
        Assert.Multiple(() =>
        {
            Assert.That(Path.GetFileName(folder), Does.Match(@"^\d{8}-\d{6}-\d+$"));
            Assert.That(Path.GetDirectoryName(folder), Is.EqualTo(Path.Combine(Repo.Root, "artifacts", "run")));
            Assert.That(File.Exists(Path.Combine(folder, "core-public.pem")), Is.True);
            Assert.That(File.Exists(Path.Combine(folder, "gateway.log")), Is.True);
            Assert.That(output, Does.Contain($"ws://127.0.0.1:{gateway}/ws?access_token=").And.Contain($"http://127.0.0.1:{core}/"));
            Assert.That(VisitorToken().IsMatch(output), Is.True, "a visitor token is printed:\n" + output);
            Assert.That(pids.All(Alive), Is.True, "both processes run");
            // A development run on loopback only: core-sim mints visitor tokens to anyone in Development (a review found
            // both processes listening on every interface).
            Assert.That(ListenAddresses(core).Concat(ListenAddresses(gateway)), Is.Not.Empty.And.All.EqualTo("127.0.0.1"), "core-sim and the gateway listen on loopback only");
        });
        await AssertWhatItOffersWorksAsync(output, gateway, ct);
        return folder;
    }

    /// <summary>
    /// What a run tells its user to do works on the ports it was given (a new-user review found each of these broken):
    /// the demo widget's token (its token service was core-sim's default port whatever --core-port said), negotiate
    /// (no relay: the run set no public URL), more sessions from this machine than a relay takes from one address by
    /// default (the load generator's, ./build.sh load: 16 connecting, 100 open), and the printed drain command (409:
    /// the last healthy relay of the fleet is drained only with force). Drains the gateway: call it last.
    /// </summary>
    private static async Task AssertWhatItOffersWorksAsync(string output, int gateway, CancellationToken ct)
    {
        using (var demo = await s_http.PostAsync($"http://127.0.0.1:{gateway}/demo/token", JsonContent.Create(new { sub = "v-run", role = "visitor", site = "s1" }), ct))
        {
            Assert.That(demo.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the demo widget's token from this run's core-sim: " + await demo.Content.ReadAsStringAsync(ct));
        }

        // The relay is in the fleet view once core-sim has its first health report and has sent the view (seconds).
        string body = string.Empty;
        for (int i = 0; i < 75 && !body.Contains($"ws://127.0.0.1:{gateway}/ws", StringComparison.Ordinal); i++)
        {
            await Task.Delay(i == 0 ? 0 : 200, ct);
            body = await s_http.GetStringAsync($"http://127.0.0.1:{gateway}/v1/negotiate", ct);
        }

        Assert.That(body, Does.Contain($"ws://127.0.0.1:{gateway}/ws"), "negotiate offers this run's relay: " + body);

        string token = VisitorToken().Match(output).Groups["token"].Value;
        var sessions = new List<ClientWebSocket>();
        try
        {
            for (int batch = 0; batch < 6; batch++)
            {
                var connecting = Enumerable.Range(0, 20).Select(_ => new ClientWebSocket()).ToList();
                sessions.AddRange(connecting);
                await Task.WhenAll(connecting.Select(ws => ws.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway}/ws?access_token={token}"), ct)));
            }

            Assert.That(sessions.Count(ws => ws.State == WebSocketState.Open), Is.EqualTo(120), "120 sessions from this machine, 20 connecting at once");
        }
        finally
        {
            foreach (var ws in sessions)
            {
                ws.Abort();
                ws.Dispose();
            }
        }

        var drain = DrainCommand().Match(output);
        Assert.That(drain.Success, Is.True, "the drain command is printed:\n" + output);
        using var request = new HttpRequestMessage(HttpMethod.Post, drain.Groups["url"].Value);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", drain.Groups["key"].Value);
        using var drained = await s_http.SendAsync(request, ct);
        Assert.That(drained.IsSuccessStatusCode, Is.True, $"the printed drain command drains ({(int)drained.StatusCode}): {await drained.Content.ReadAsStringAsync(ct)}");
    }

    /// <summary>The local addresses of the listening TCP sockets on <paramref name="port"/> (/proc/net/tcp and tcp6).</summary>
    public static List<string> ListenAddresses(int port)
    {
        var addresses = new List<string>();
        foreach (string table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (string line in File.ReadLines(table).Skip(1))
            {
                // "  0: 0100007F:1F90 00000000:0000 0A ..."; state 0A is LISTEN; addresses are little-endian hex words.
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                string[] local = fields[1].Split(':');
                if (fields[3] != "0A" || Convert.ToInt32(local[1], 16) != port)
                {
                    continue;
                }

                byte[] bytes = Convert.FromHexString(local[0]);
                for (int i = 0; i < bytes.Length; i += 4)
                {
                    Array.Reverse(bytes, i, 4);
                }

                var address = new System.Net.IPAddress(bytes);
                addresses.Add((address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString());
            }
        }

        return addresses;
    }

    /// <summary>Waits (bounded, 30 s) until none of <paramref name="pids"/> is alive.</summary>
    public static async Task WaitUntilGoneAsync(IReadOnlyCollection<int> pids, CancellationToken ct)
    {
        for (int i = 0; i < 300 && pids.Any(Alive); i++)
        {
            await Task.Delay(100, ct);
        }
    }

    /// <summary>Ends what the run started and is still alive (by its pids only), the script, and the run's folder.</summary>
    public static void CleanUp(ChildProcess run, IEnumerable<int> pids, string? folder)
    {
        foreach (int pid in pids.Where(Alive))
        {
            ProcessRunner.TryRun("kill", "-KILL", pid.ToString(CultureInfo.InvariantCulture)); // only what this run started
        }

        run.Stop(TimeSpan.FromSeconds(5));
        if (folder is { Length: > 0 } && Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    public static bool Alive(int pid)
    {
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"Relay is running \(logs in (.+)\):")]
    private static partial Regex LogsIn();

    [GeneratedRegex(@"A visitor token[^\n]*\n\s+(?<token>ey[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")]
    private static partial Regex VisitorToken();

    [GeneratedRegex(@"Drain the gateway:\s+curl -X POST -H ""Authorization: Bearer (?<key>[^""]+)"" '?(?<url>http://[^\s']+)")]
    private static partial Regex DrainCommand();
}
