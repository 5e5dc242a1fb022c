using System.Net;
using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Relay.Testing.Logging;

namespace Relay.Gateway.Tests.Logging;

[NonParallelizable]
public class TokenRedactionTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Logs_WithRequestLoggingOn_NeverCarryTheAccessToken(CancellationToken token)
    {
        // Request lines on, and everything else at Trace: the most a log could ever show.
        await using var gw = await GatewayFixture.StartAsync(o => o.EnableCompression = true, args: ["--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Microsoft.AspNetCore=Trace"]);
        var capture = new LogCapture();
        gw.App.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        string fast = GatewayFixture.Token(sub: "fast-path");
        string http = GatewayFixture.Token(sub: "http-path");
        string refused = GatewayFixture.Token(role: "admin");

        using (var ws = await gw.ConnectAsync(fast, ct: token))
        {
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        }

        using (var ws = await gw.ConnectAsync(http, o => o.DangerousDeflateOptions = new WebSocketDeflateOptions(), token))
        {
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        }

        using var client = new HttpClient();
        var plain = await client.GetAsync($"{gw.HttpUrl}/ws?access_token={refused}&x=1", token);
        Assert.That(plain.StatusCode, Is.Not.EqualTo(HttpStatusCode.OK));

        var entries = capture.Entries.ToArray();
        Assert.That(entries, Has.Some.Contains("access_token=[redacted]"), "the request lines were logged, redacted (else this test proves nothing)");
        foreach (var secret in new[] { fast, http, refused })
        {
            Assert.That(entries.Where(e => e.Contains(secret, StringComparison.Ordinal)), Is.Empty);
            Assert.That(entries.Where(e => e.Contains(secret.Split('.')[2], StringComparison.Ordinal)), Is.Empty, "not even the signature");
        }
    }
    [TestCase(false)]
    [TestCase(true)]
    [CancelAfter(60_000)]
    public async Task EdgeHttpRequests_WithTheTokenInTheQuery_NeverLogIt(bool trace, CancellationToken token)
    {
        // A new-user review found edge HTTP's forwarder (YARP, category Yarp.*) logging every forwarded request's URL at
        // Information, the default level: GET /api/whoami?access_token=… put the token in the gateway's log. Only the
        // Microsoft.* categories were redacted. Now every category but Relay's own is, and YARP logs at Warning by default.
        string[] args = trace ? ["--Logging:LogLevel:Default=Trace", "--Logging:LogLevel:Yarp=Trace"] : [];
        await using var h = await EdgeHttp.EdgeHttpHarness.StartAsync(token, gatewayArgs: args);
        var capture = new LogCapture();
        h.Gateway.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        string secret = h.Token("v1");

        using var client = new HttpClient();
        using var history = await client.GetAsync(new Uri(h.Relay, $"/api/rooms/v1/history?access_token={secret}"), token);
        Assert.That(history.StatusCode, Is.EqualTo(HttpStatusCode.OK), "forwarded to the core, which took the token from the query");

        var entries = capture.Entries.ToArray();
        if (trace)
        {
            Assert.That(entries, Has.Some.Contains("access_token=[redacted]"), "at Trace the forwarder logs the URL, redacted (else this case proves nothing)");
        }

        Assert.That(entries.Where(e => e.Contains(secret.Split('.')[2], StringComparison.Ordinal)), Is.Empty, "not the token, not even its signature");
        if (!trace)
        {
            Assert.That(entries.Where(e => e.Contains("/api/rooms/v1/history", StringComparison.Ordinal)), Is.Empty, "no line per forwarded request at the default levels");
        }
    }
}
