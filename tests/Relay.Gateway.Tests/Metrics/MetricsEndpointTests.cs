using System.Net.WebSockets;
using System.Text;
using Relay.Gateway.Health;

namespace Relay.Gateway.Tests.Metrics;

[NonParallelizable]
public class MetricsEndpointTests
{
    /// <summary>Every series the README, the bench script, the bench README and the tests read.</summary>
    private static readonly string[] s_series =
    [
        "relay_gateway_sessions", "relay_gateway_session_opens_total", "relay_gateway_session_closes_total{code=\"1000\"}",
        "relay_gateway_upgrades_total{path=\"connection\"}", "relay_gateway_upgrades_total{path=\"http\"}",
        "relay_gateway_memory_trims_total", "relay_gateway_memory_trimmed_bytes_total",
        "relay_gateway_messages_in_total", "relay_gateway_messages_out_total", "relay_gateway_bytes_in_total", "relay_gateway_bytes_out_total",
        "relay_gateway_send_queue_bytes", "relay_gateway_agent_weight",
        "relay_backhaul_links_up", "relay_backhaul_streams", "relay_backhaul_frames_sent_total", "relay_backhaul_flushes_total",
        "relay_backhaul_frames_received_total", "relay_backhaul_bytes_sent_total", "relay_backhaul_bytes_received_total",
        "relay_backhaul_reconnects_total", "relay_backhaul_reattaches_total",
    ];

    [Test]
    [CancelAfter(30_000)]
    public async Task Scrape_AfterOneSession_ShowsEverySeriesOperatorsRead(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using (var ws = await gw.ConnectAsync(ct: token))
        {
            await ws.SendAsync(Encoding.UTF8.GetBytes("hello"), WebSocketMessageType.Text, true, token);
            await GatewayFixture.ReceiveAsync(ws, token);
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        }

        using var http = new HttpClient();
        // the session's close reaches the counters just after the client's close returns
        var metrics = await PrometheusScrape.GetWhenAsync(http, gw.HttpUrl, m => m.GetValueOrDefault("relay_gateway_sessions", 1) == 0 && m.GetValueOrDefault("relay_backhaul_links_up") == 2, token); // /readyz says ready with one link of two up

        Assert.That(s_series.Where(s => !metrics.ContainsKey(s)), Is.Empty, "missing series");
        Assert.That(metrics["relay_gateway_session_opens_total"], Is.EqualTo(1));
        Assert.That(metrics["relay_gateway_session_closes_total{code=\"1000\"}"], Is.EqualTo(1));
        Assert.That(metrics["relay_gateway_messages_in_total"], Is.EqualTo(1));
        Assert.That(metrics["relay_gateway_bytes_in_total"], Is.EqualTo(5));
        Assert.That(metrics["relay_backhaul_links_up"], Is.EqualTo(2));
        var states = Enum.GetValues<RelayState>().Select(s => metrics[$"relay_gateway_state{{state=\"{s.ToString().ToLowerInvariant()}\"}}"]).ToArray();
        Assert.That(states.Sum(), Is.EqualTo(1), "one state is current");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Scrape_TwoGatewaysInOneProcess_EachCountsOnlyItsOwnSessions(CancellationToken token)
    {
        await using var busy = await GatewayFixture.StartAsync();
        await using var idle = await GatewayFixture.StartAsync();
        using var ws = await busy.ConnectAsync(ct: token);

        using var http = new HttpClient();
        var busyMetrics = await PrometheusScrape.GetWhenAsync(http, busy.HttpUrl, m => m.GetValueOrDefault("relay_gateway_sessions") >= 1, token);
        var idleMetrics = await PrometheusScrape.GetWhenAsync(http, idle.HttpUrl, m => m.GetValueOrDefault("relay_backhaul_links_up") == 2, token); // ready with one link of two up
        Assert.That((busyMetrics["relay_gateway_sessions"], busyMetrics["relay_backhaul_streams"]), Is.EqualTo((1.0, 1.0)));
        Assert.That((idleMetrics["relay_gateway_sessions"], idleMetrics["relay_backhaul_streams"]), Is.EqualTo((0.0, 0.0)));
        Assert.That(idleMetrics["relay_backhaul_links_up"], Is.EqualTo(2), "its own two links, not the other gateway's nor the core's");
    }
}
