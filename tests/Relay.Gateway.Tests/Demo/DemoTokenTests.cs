using System.Net;
using System.Text;
using Relay.CoreSim;

namespace Relay.Gateway.Tests.Demo;

/// <summary>The demo widget's token proxy (POST /demo/token): visitor tokens only, no CORS (issue 16, item 4).</summary>
[TestFixture]
public sealed class DemoTokenTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task DemoToken_VisitorMinted_OperatorRefused_NoWildcardCors(CancellationToken ct)
    {
        await using var core = await CoreSimHost.StartAsync(o =>
        {
            o.BindAddress = "127.0.0.1";
            o.HttpPort = 0;
            o.BackhaulPort = 0;
        }, ct);
        // No backhaul needed: the token proxy talks to core-sim's HTTP endpoint.
        var gw = GatewayHost.Build(["--urls", "http://127.0.0.1:0", "--Gateway:DemoWidget=true", $"--Gateway:DemoTokenUrl={new Uri(core.HttpUri, "/v1/tokens")}"], o =>
        {
            o.HttpPort = 0;
            o.BindAddress = "127.0.0.1";
            o.PublicKeyPath = GatewayFixture.PublicKeyPath;
            o.Backhaul.Endpoints = ["127.0.0.1:1"];
            o.Backhaul.SharedKey = GatewayFixture.SharedKey;
            o.Backhaul.RelayId = "gw-demo";
            o.ShutdownTimeout = TimeSpan.FromSeconds(5);
            o.Health.AgentPort = 0;
        });
        await gw.StartAsync(ct);
        try
        {
            string url = GatewayHost.Urls(gw).First(u => u.StartsWith("http://", StringComparison.Ordinal));
            using var http = new HttpClient();
            using var visitor = await PostAsync(http, url, """{"sub":"v1","site":"demo","role":"visitor"}""", ct);
            using var op = await PostAsync(http, url, """{"sub":"o1","site":"demo","role":"operator"}""", ct);
            Assert.Multiple(() =>
            {
                Assert.That(visitor.StatusCode, Is.EqualTo(HttpStatusCode.OK));
                Assert.That(visitor.Headers.Contains("Access-Control-Allow-Origin"), Is.False, "no CORS on the token proxy");
                Assert.That(op.StatusCode, Is.EqualTo(HttpStatusCode.Forbidden), "the demo proxy mints visitor tokens only");
                Assert.That(op.Headers.Contains("Access-Control-Allow-Origin"), Is.False);
            });
        }
        finally
        {
            await gw.StopAsync(CancellationToken.None);
            await gw.DisposeAsync();
        }
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string gateway, string body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, gateway + "/demo/token") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("Origin", "http://evil.example");
        return await http.SendAsync(request, ct);
    }
}
