using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// Requests to the relay's own HTTP endpoints are limited per client (<c>Gateway:HttpRequestsPerSecondPerClient</c>,
/// burst <c>HttpRequestBurstPerClient</c>): a security review measured a <c>/metrics</c> scrape at about 1 ms of CPU, and one
/// client looping on it on a keep-alive connection took a core, with nothing limiting requests on a connection.
/// </summary>
[NonParallelizable]
public class ClientRequestRateTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task OneClientOverItsRate_Gets429_OthersAndSessionsDoNot(CancellationToken token)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new SessionTests.RunningClock(time); // the gateway's own timers need it to start
        await using var gw = await GatewayFixture.StartAsync(args: ["--Gateway:HttpRequestsPerSecondPerClient=2", "--Gateway:HttpRequestBurstPerClient=5"], time: time);
        await clock.StopAsync(); // from here the buckets refill only when the test advances the clock
        int port = RawClient.Port(gw.HttpUrl);
        var one = RawClient.Source(1);

        var burst = new List<string>();
        for (int i = 0; i < 5; i++)
        {
            burst.Add(await StatusAsync(one, port, "/metrics", token));
        }

        string over = await HeadAsync(one, port, "/healthz", token);
        string otherClient = await StatusAsync(RawClient.Source(2), port, "/healthz", token);
        string upgradeRoute = await StatusAsync(one, port, "/ws", token); // not a websocket request: 426, not counted here
        time.Advance(TimeSpan.FromSeconds(1));
        string refilled = await StatusAsync(one, port, "/readyz", token);
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();

        Assert.Multiple(() =>
        {
            Assert.That(burst, Is.All.EqualTo("200"), "the burst");
            Assert.That(over, Does.StartWith("HTTP/1.1 429"));
            Assert.That(over, Does.Contain("Retry-After: 1"));
            Assert.That(otherClient, Is.EqualTo("200"), "another client has its own bucket");
            Assert.That(upgradeRoute, Is.EqualTo("426"), "/ws is not limited by it");
            Assert.That(refilled, Is.EqualTo("200"), "a second later: two more");
            Assert.That(metrics.HttpRateRefusals, Is.EqualTo(1));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ATrustedProxysOwnHealthChecks_AreNotLimited(CancellationToken token)
    {
        // HAProxy's checks come with a PROXY LOCAL header, from its own address: at 20 a second for a few backends they
        // must not be refused (a 429 on /readyz takes the relay out of the proxy's rotation).
        await using var gw = await GatewayFixture.StartAsync(o => o.TrustedProxies = ["127.0.0.2"], args: ["--Gateway:HttpRequestsPerSecondPerClient=1", "--Gateway:HttpRequestBurstPerClient=2"]);
        int port = RawClient.Port(gw.HttpUrl);
        var statuses = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            using var socket = await RawClient.ConnectAsync(IPAddress.Parse("127.0.0.2"), port, token);
            string head = await RawClient.RequestAsync(socket, ProxyProtocolTests.Local(), "GET /readyz HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\n\r\n", token);
            statuses.Add(head.Split(' ', 3) is [_, var status, ..] ? status : "none");
        }

        Assert.That(statuses, Is.All.EqualTo("200"));
    }

    private static async Task<string> StatusAsync(IPAddress source, int port, string path, CancellationToken token) =>
        (await HeadAsync(source, port, path, token)).Split(' ', 3) is [_, var status, ..] ? status : "none";

    private static async Task<string> HeadAsync(IPAddress source, int port, string path, CancellationToken token)
    {
        using var socket = await RawClient.ConnectAsync(source, port, token);
        return await RawClient.RequestAsync(socket, [], $"GET {path} HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\n\r\n", token);
    }
}
