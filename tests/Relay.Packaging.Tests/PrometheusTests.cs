using System.Diagnostics;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Relay.Testing;

namespace Relay.Packaging.Tests;

/// <summary>
/// deploy/prometheus/relay-rules.yml and deploy/grafana/relay-dashboard.json against promtool (Debian's prometheus
/// package, scripts/install-prometheus.sh) and against what a live gateway really exports at /metrics.
/// </summary>
public partial class PrometheusTests
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static string PrometheusDir => Path.Combine(Repo.Root, "deploy", "prometheus");

    private static string Promtool => Tools.Require("promtool", "apt-get install --no-install-recommends prometheus (scripts/install-prometheus.sh)");

    [Test]
    public async Task Rules_PromtoolCheckRules_Succeeds()
    {
        var result = await Tools.RunAsync(Promtool, ["check", "rules", "relay-rules.yml"], TimeSpan.FromSeconds(60), workingDirectory: PrometheusDir);
        Assert.That(result.ExitCode, Is.Zero, result.StdOut + result.StdErr);
    }

    /// <summary>relay-rules.test.yml has a case for every alert of relay-rules.yml (README: "fires each on its series").</summary>
    [Test]
    public void RulesTest_HasACaseForEveryAlert()
    {
        var alerts = AlertRegex().Matches(File.ReadAllText(Path.Combine(PrometheusDir, "relay-rules.yml"))).Select(m => m.Groups[1].Value).ToList();
        var tested = AlertNameRegex().Matches(File.ReadAllText(Path.Combine(PrometheusDir, "relay-rules.test.yml"))).Select(m => m.Groups[1].Value).ToHashSet(StringComparer.Ordinal);
        Assert.That(alerts, Has.Count.GreaterThan(5), "the alerts were read");
        Assert.That(alerts.Where(a => !tested.Contains(a)), Is.Empty, "alerts relay-rules.test.yml does not test");
    }

    [Test]
    public async Task Rules_PromtoolTestRules_EachAlertFiresOnItsSeries()
    {
        var result = await Tools.RunAsync(Promtool, ["test", "rules", "relay-rules.test.yml"], TimeSpan.FromSeconds(60), workingDirectory: PrometheusDir);
        Assert.That(result.ExitCode, Is.Zero, result.StdOut + result.StdErr);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task LiveMetrics_PromtoolCheckMetrics_FindsNoProblem(CancellationToken token)
    {
        string promtool = Promtool;
        string metrics = await LiveMetricsAsync(token);
        var (exitCode, output) = await RunWithInputAsync(promtool, ["check", "metrics"], metrics, token);
        Assert.That((exitCode, output.Trim()), Is.EqualTo((0, "")), "promtool check metrics on a live /metrics");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task RulesAndDashboard_UseOnlyMetricsTheGatewayExports(CancellationToken token)
    {
        string metrics = await LiveMetricsAsync(token);
        var exported = new HashSet<string>(SampleNameRegex().Matches(metrics).Select(m => m.Groups[1].Value), StringComparer.Ordinal);
        var used = new SortedSet<string>(StringComparer.Ordinal);
        foreach (string line in File.ReadLines(Path.Combine(PrometheusDir, "relay-rules.yml")).Where(l => l.TrimStart().StartsWith("expr:", StringComparison.Ordinal)))
        {
            used.UnionWith(MetricNameRegex().Matches(line).Select(m => m.Value));
        }

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "deploy", "grafana", "relay-dashboard.json"), token));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray())
        {
            foreach (var target in panel.GetProperty("targets").EnumerateArray())
            {
                used.UnionWith(MetricNameRegex().Matches(target.GetProperty("expr").GetString()!).Select(m => m.Value));
            }
        }

        // The tunnel's series exist only with a WireGuard tunnel (gateway/WireGuard/TunnelMetrics.cs): checked against
        // that file's instrument names instead of a live scrape.
        string tunnelSource = await File.ReadAllTextAsync(Path.Combine(Repo.Root, "gateway", "WireGuard", "TunnelMetrics.cs"), token);
        var missing = used.Where(name => !exported.Contains(name) && !(name.StartsWith("relay_gateway_tunnel_", StringComparison.Ordinal) && tunnelSource.Contains(TunnelInstrument(name), StringComparison.Ordinal))).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(used, Has.Count.GreaterThan(10), "the names were read");
            Assert.That(missing, Is.Empty, "used in the rules or the dashboard, not exported by the gateway");
        });
    }

    /// <summary>
    /// Every relay_gateway_* and relay_backhaul_* name the docs give (README.md, docs/, the components' READMEs) is an
    /// instrument the code defines, as the exporter writes it (dots as underscores, _total, a unit, a histogram's
    /// _bucket): read from the source, as many series appear only after their event (a copy, a cache hit, a wss session).
    /// </summary>
    [Test]
    public void Docs_NameOnlyMetricsTheCodeDefines()
    {
        var instruments = new HashSet<string>(StringComparer.Ordinal);
        foreach (string folder in new[] { "gateway", "tunnel", "wireguard", "contracts" })
        {
            foreach (string file in Directory.EnumerateFiles(Path.Combine(Repo.Root, folder), "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/", StringComparison.Ordinal)))
            {
                instruments.UnionWith(InstrumentRegex().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value.Replace('.', '_')));
            }
        }

        string[] docs = [
            "README.md", .. Directory.EnumerateFiles(Path.Combine(Repo.Root, "docs"), "*.md").Select(f => Path.GetRelativePath(Repo.Root, f)),
            "core-sim/README.md", "tunnel/Protocol/README.md", "wireguard/README.md",
            .. Directory.EnumerateFiles(Path.Combine(Repo.Root, "tools"), "README.md", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Repo.Root, f)),
            .. Directory.EnumerateFiles(Path.Combine(Repo.Root, "clients"), "README.md", SearchOption.AllDirectories).Where(f => !f.Contains("node_modules", StringComparison.Ordinal)).Select(f => Path.GetRelativePath(Repo.Root, f)),
        ];
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        int named = 0;
        foreach (string doc in docs.Where(d => File.Exists(Path.Combine(Repo.Root, d))))
        {
            foreach (string name in DocMetricRegex().Matches(File.ReadAllText(Path.Combine(Repo.Root, doc))).Select(m => m.Value))
            {
                named++;
                if (!Exported(name).Any(instruments.Contains))
                {
                    unknown.Add($"{doc}: {name}");
                }
            }
        }

        Assert.That(named, Is.GreaterThan(20), "the names were read");
        Assert.That(unknown, Is.Empty, "named in the docs, no instrument of that name in the code");

        // relay_backhaul_link_rtt_seconds_bucket → relay_backhaul_link_rtt_seconds, relay_backhaul_link_rtt, …
        static IEnumerable<string> Exported(string name)
        {
            foreach (string series in new[] { "_bucket", "_sum", "_count", string.Empty }.Where(name.EndsWith).Select(x => name[..^x.Length]))
            {
                foreach (string counter in new[] { "_total", string.Empty }.Where(series.EndsWith).Select(x => series[..^x.Length]))
                {
                    yield return counter;
                    yield return UnitSuffixRegex().Replace(counter, string.Empty);
                }
            }
        }
    }

    /// <summary>relay_gateway_tunnel_handshake_age_seconds → "relay.gateway.tunnel.handshake_age" (the unit suffix off).</summary>
    private static string TunnelInstrument(string name) =>
        "\"relay.gateway.tunnel." + UnitSuffixRegex().Replace(name["relay_gateway_tunnel_".Length..], "") + "\"";

    /// <summary>A ready gateway with a core, after a session opened and closed and an upgrade refused, scraped.</summary>
    private static async Task<string> LiveMetricsAsync(CancellationToken token)
    {
        await using var relay = RelayUnderTest.Start();
        await relay.StartCoreAsync(token);
        await relay.Gateway.WaitForHttpAsync(new Uri(relay.Http, "/readyz"), HttpStatusCode.OK, TimeSpan.FromSeconds(60), token);
        string ws = $"ws://127.0.0.1:{relay.HttpPort}/ws?access_token=";
        using (var client = new ClientWebSocket())
        {
            await client.ConnectAsync(new Uri(ws + relay.Core!.Tokens.Issue("u1", "s1", "visitor", TimeSpan.FromMinutes(5)).Token), token);
            await client.SendAsync(Encoding.UTF8.GetBytes("{\"type\":\"hello\"}"), WebSocketMessageType.Text, true, token);
            var buffer = new byte[16 * 1024];
            var welcome = await client.ReceiveAsync(buffer, token);
            Assert.That(Encoding.UTF8.GetString(buffer, 0, welcome.Count), Does.Contain("welcome"));
            await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        }

        using (var refused = new ClientWebSocket())
        {
            Assert.That(async () => await refused.ConnectAsync(new Uri(ws + "not-a-token"), token), Throws.InstanceOf<WebSocketException>());
        }

        // the close is counted when the session has ended on the gateway's side too; the link RTT after a ping
        string metrics = "";
        for (int i = 0; i < 100 && !(metrics.Contains("relay_gateway_session_closes_total", StringComparison.Ordinal) && metrics.Contains("relay_backhaul_link_rtt_seconds_bucket", StringComparison.Ordinal)); i++)
        {
            metrics = await s_http.GetStringAsync(new Uri(relay.Http, "/metrics"), token);
            await Task.Delay(100, token);
        }

        return metrics;
    }

    private static async Task<(int ExitCode, string Output)> RunWithInputAsync(string tool, string[] arguments, string input, CancellationToken token)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(token);
        var stderr = process.StandardError.ReadToEndAsync(token);
        await process.StandardInput.WriteAsync(input);
        process.StandardInput.Close();
        await process.WaitForExitAsync(token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"(?m)^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )")]
    private static partial Regex SampleNameRegex();

    [GeneratedRegex(@"\b(?:relay|dotnet|kestrel)_[a-z0-9_]+\b")]
    private static partial Regex MetricNameRegex();

    [GeneratedRegex(@"""(relay\.(?:gateway|backhaul)\.[a-z0-9_.]+)""")]
    private static partial Regex InstrumentRegex();

    [GeneratedRegex(@"\brelay_(?:gateway|backhaul)_[a-z0-9_]*[a-z0-9]\b")]
    private static partial Regex DocMetricRegex();

    [GeneratedRegex(@"(?m)^\s*- alert: (\w+)")]
    private static partial Regex AlertRegex();

    [GeneratedRegex(@"(?m)^\s*alertname: (\w+)")]
    private static partial Regex AlertNameRegex();

    [GeneratedRegex(@"_(seconds|bytes_total|bytes|total)$")]
    private static partial Regex UnitSuffixRegex();
}
