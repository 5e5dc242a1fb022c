using Microsoft.Extensions.DependencyInjection;
using System.Net;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Metrics;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Relay.Testing.Backhaul;
using Relay.Tunnel.Streams;

namespace Relay.Gateway.Tests;

[NonParallelizable]
public class SessionTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Echo_TextAndBinary_KeepTypeAndBoundaries(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync("hello relay"u8.ToArray(), WebSocketMessageType.Text, true, token);
        var big = RandomNumberGenerator.GetBytes(40_000);
        await ws.SendAsync(big, WebSocketMessageType.Binary, true, token);

        var first = await GatewayFixture.ReceiveAsync(ws, token);
        Assert.That((first.Type, Encoding.UTF8.GetString(first.Data)), Is.EqualTo((WebSocketMessageType.Text, "hello relay")));
        var second = await GatewayFixture.ReceiveAsync(ws, token);
        Assert.That(second.Type, Is.EqualTo(WebSocketMessageType.Binary));
        Assert.That(second.Data, Is.EqualTo(big));

        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        Assert.That(ws.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PermessageDeflate_WhenTurnedOn_IsNegotiatedAndEchoes(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.EnableCompression = true);
        using var ws = await gw.ConnectAsync(options: o =>
        {
            o.DangerousDeflateOptions = new WebSocketDeflateOptions();
            o.CollectHttpResponseDetails = true;
        }, ct: token);
        Assert.That(ws.HttpResponseHeaders!["Sec-WebSocket-Extensions"].Single(), Does.StartWith("permessage-deflate"));
        var text = string.Concat(Enumerable.Repeat("compressible chat text ", 500));
        await ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, token);
        var echo = await GatewayFixture.ReceiveAsync(ws, token);
        Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo(text));
        var metrics = gw.App.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
        Assert.That((metrics.FastUpgrades, metrics.HttpUpgrades), Is.EqualTo((0L, 1L)), "a deflate offer with compression on goes through ASP.NET Core's negotiation");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Tokens_MissingForgedExpiredOrWrongRole_Get401BeforeUpgrade(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var forgedKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string[] bad =
        [
            string.Empty,
            GatewayFixture.Token(key: forgedKey),
            GatewayFixture.Token(lifetime: TimeSpan.FromMinutes(-5)),
            GatewayFixture.Token(role: "admin"),
            "not.a.jwt",
        ];
        using var http = new HttpClient();
        foreach (var t in bad)
        {
            var status = await UpgradeStatusAsync(gw, $"?access_token={t}", token);
            Assert.That(status, Is.EqualTo(HttpStatusCode.Unauthorized), $"token '{t}'");
        }

        Assert.That(gw.CoreStreams, Is.Empty, "no backhaul work for refused upgrades");
        var metrics = await PrometheusScrape.GetAsync(http, gw.HttpUrl, token);
        Assert.That(metrics["relay_gateway_auth_refusals_total{reason=\"token\"}"], Is.EqualTo(5));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Origin_NotAllowed_Gets403(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.AllowedOrigins = ["https://chat.example"]);
        var refused = await UpgradeStatusAsync(gw, $"?access_token={GatewayFixture.Token()}", token, origin: "https://evil.example");
        Assert.That(refused, Is.EqualTo(HttpStatusCode.Forbidden));
        using var ok = await gw.ConnectAsync(options: o => o.SetRequestHeader("Origin", "https://chat.example"), ct: token);
        Assert.That(ok.State, Is.EqualTo(WebSocketState.Open));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PerIpLimit_Gets429(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.MaxSessionsPerIp = 3);
        var open = new List<ClientWebSocket>();
        for (int i = 0; i < 3; i++)
        {
            open.Add(await gw.ConnectAsync(ct: token));
        }

        Assert.That(await UpgradeStatusAsync(gw, $"?access_token={GatewayFixture.Token()}", token), Is.EqualTo(HttpStatusCode.TooManyRequests));
        await open[0].CloseAsync(WebSocketCloseStatus.NormalClosure, null, token);
        open[0].Dispose();
        for (int i = 0; i < 50 && gw.App.Services.GetService(typeof(Sessions.SessionRegistry)) is Sessions.SessionRegistry r && r.Count > 2; i++)
        {
            await Task.Delay(50, token);
        }

        using var again = await gw.ConnectAsync(ct: token);
        Assert.That(again.State, Is.EqualTo(WebSocketState.Open), "a slot frees when a session ends");
        open.ForEach(w => w.Dispose());
    }

    [Test]
    [CancelAfter(30_000)]
    public Task MessageRateExceeded_TheClientIsHeldToTheRate_NotClosed_NothingLost(CancellationToken token) =>
        // 5 per second, burst 5: 15 messages sent at once. The burst goes through, then the rest wait for their tokens
        // (the session reads nothing more meanwhile) and go through as the clock moves.
        OnAStoppedClockAsync(async (ws, time, metrics) =>
        {
            for (int i = 0; i < 15; i++)
            {
                await ws.SendAsync(Encoding.UTF8.GetBytes($"m{i}"), WebSocketMessageType.Text, true, token);
            }

            int next = 0;
            for (int step = 0; step < 3; step++)
            {
                if (step > 0)
                {
                    time.Advance(TimeSpan.FromSeconds(1)); // five more tokens
                }

                for (int i = 0; i < 5; i++, next++)
                {
                    var echo = await GatewayFixture.ReceiveAsync(ws, token);
                    Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo($"m{next}"), "echoed in order");
                }

                if (step < 2)
                {
                    while (metrics.MessagesPaced < step + 1)
                    {
                        await Task.Delay(10, token); // the next message is read and waits for its token
                    }

                    Assert.That(metrics.MessagesIn, Is.EqualTo(next), $"at {step} s on the session's clock, only the burst and the tokens since have gone to the core");
                }
            }

            Assert.That(ws.State, Is.EqualTo(WebSocketState.Open));
            Assert.That(metrics.MessagesPaced, Is.EqualTo(2));
            Assert.That(metrics.Closes(1008), Is.Zero);
        }, token);

    [Test]
    [CancelAfter(30_000)]
    public Task MessageRate_BurstsWithinTheRate_WaitForNothing(CancellationToken token) =>
        // 5 per second, burst 5: three bursts of 5, a second apart on the session's clock, stay within the bucket; the
        // bucket has to refill between bursts for the second and third to pass without waiting.
        OnAStoppedClockAsync(async (ws, time, metrics) =>
        {
            for (int burst = 0; burst < 3; burst++)
            {
                if (burst > 0)
                {
                    time.Advance(TimeSpan.FromSeconds(1));
                }

                for (int i = 0; i < 5; i++)
                {
                    await ws.SendAsync(Encoding.UTF8.GetBytes($"m{burst}.{i}"), WebSocketMessageType.Text, true, token);
                }

                for (int i = 0; i < 5; i++)
                {
                    var echo = await GatewayFixture.ReceiveAsync(ws, token);
                    Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo($"m{burst}.{i}"), $"burst {burst}: echoed in order");
                }
            }

            Assert.That(metrics.MessagesPaced, Is.Zero, "no message waited");
            Assert.That(ws.State, Is.EqualTo(WebSocketState.Open));
        }, token);

    /// <summary>
    /// A gateway at 5 messages per second (burst 5) on a fake clock, and one session on it. The clock runs (50 ms a tick)
    /// until the session is open: the gateway's own timers (token keys, health) need it; then it stands still and moves
    /// only when <paramref name="body"/> says, and runs again for the gateway's stop, whose waits are on it too.
    /// </summary>
    private static async Task OnAStoppedClockAsync(Func<ClientWebSocket, FakeTimeProvider, GatewayMetrics, Task> body, CancellationToken token)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new RunningClock(time);
        await using var gw = await GatewayFixture.StartAsync(o => { o.MessagesPerSecond = 5; o.MessageBurst = 5; }, time: time);
        using var ws = await gw.ConnectAsync(ct: token);
        await clock.StopAsync();
        try
        {
            await body(ws, time, gw.App.Services.GetRequiredService<GatewayMetrics>());
        }
        finally
        {
            clock.Start();
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task MessageTooBig_Closes1009(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.MaxMessageSize = 1024);
        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync(new byte[4096], WebSocketMessageType.Binary, true, token);
        Assert.That(await DrainUntilCloseAsync(ws, token), Is.EqualTo(WebSocketCloseStatus.MessageTooBig));
        Assert.That(gw.CoreStreams.Select(s => s.Completion.IsCompleted ? s.CloseInfo!.Code : 0), Has.All.EqualTo(1009).Or.EqualTo(0));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task CloseCodes_PropagateBothWays(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();

        // Client → core.
        using (var ws = await gw.ConnectAsync(ct: token))
        {
            await ws.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, token);
            await GatewayFixture.ReceiveAsync(ws, token);
            await ws.CloseAsync((WebSocketCloseStatus)4000, "client says bye", token);
            var core = gw.CoreStreams.Single();
            var info = await core.Completion.WaitAsync(token);
            Assert.That((info.Code, info.Reason), Is.EqualTo((4000, "client says bye")));
        }

        // Core → client.
        gw.CoreHandler = async (stream, ct) =>
        {
            using var m = await stream.ReceiveAsync(ct);
            stream.Close(4004, "session unknown");
        };
        using var ws2 = await gw.ConnectAsync(ct: token);
        await ws2.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, token);
        Assert.That(await DrainUntilCloseAsync(ws2, token), Is.EqualTo((WebSocketCloseStatus)4004));
        Assert.That(ws2.CloseStatusDescription, Is.EqualTo("session unknown"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task SlowReader_Closed1013_WhileHundredOthersCarryOn(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.SendQueueBytes = 128 * 1024; o.MaxSessionsPerIp = 1000; o.MessagesPerSecond = 1000; o.MessageBurst = 1000; });
        gw.CoreHandler = async (stream, ct) =>
        {
            using var first = await stream.ReceiveAsync(ct);
            if (Encoding.UTF8.GetString(first.Data.Span) != "flood me")
            {
                await stream.SendAsync(first.Data, true, ct);
                await StreamEcho.RunAsync(stream, ct);
                return;
            }

            var chunk = new byte[32 * 1024];
            for (int i = 0; i < 4000 && await stream.SendAsync(chunk, false, ct); i++)
            {
            }
        };

        // The slow client: a tiny receive buffer, and it never reads.
        using var slow = await gw.ConnectAsync(options: o => o.SetBuffer(1024, 1024), ct: token);
        await slow.SendAsync("flood me"u8.ToArray(), WebSocketMessageType.Text, true, token);

        var others = new List<ClientWebSocket>();
        for (int i = 0; i < 100; i++)
        {
            others.Add(await gw.ConnectAsync(ct: token));
        }

        await Task.WhenAll(others.Select(async (ws, i) =>
        {
            for (int m = 0; m < 10; m++)
            {
                var text = $"s{i} m{m}";
                await ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, token);
                var echo = await GatewayFixture.ReceiveAsync(ws, token);
                Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo(text));
            }
        }));

        // Now the slow client reads: after what the socket buffered, it finds close 1013.
        Assert.That(await DrainUntilCloseAsync(slow, token), Is.EqualTo((WebSocketCloseStatus)1013));
        others.ForEach(w => w.Dispose());
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TwoThousandConcurrentSessions_AllEcho(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => { o.MaxSessionsPerIp = 5000; o.MaxPreAuthConnectionsPerIp = 64; }); // 64 handshakes at once from one address
        var sockets = new ClientWebSocket[2000];
        using var gate = new SemaphoreSlim(64);
        await Task.WhenAll(Enumerable.Range(0, sockets.Length).Select(async i =>
        {
            await gate.WaitAsync(token);
            try
            {
                sockets[i] = await gw.ConnectAsync(ct: token);
            }
            finally
            {
                gate.Release();
            }
        }));

        using var http = new HttpClient();
        var metrics = await PrometheusScrape.GetWhenAsync(http, gw.HttpUrl, m => m.GetValueOrDefault("relay_gateway_sessions") >= 2000, token);
        Assert.That(metrics["relay_gateway_sessions"], Is.EqualTo(2000));

        await Task.WhenAll(sockets.Select(async (ws, i) =>
        {
            var text = $"session {i}";
            await ws.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, token);
            var echo = await GatewayFixture.ReceiveAsync(ws, token);
            Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo(text));
        }));

        // The links' batching is visible to operators: every flush writes at least one frame.
        metrics = await PrometheusScrape.GetAsync(http, gw.HttpUrl, token);
        Assert.That(metrics["relay_backhaul_flushes_total"], Is.GreaterThan(0).And.LessThanOrEqualTo(metrics["relay_backhaul_frames_sent_total"]));
        foreach (var ws in sockets)
        {
            ws.Abort();
            ws.Dispose();
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Shutdown_ClosesSessionsWith1001(CancellationToken token)
    {
        var gw = await GatewayFixture.StartAsync();
        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, token);
        await GatewayFixture.ReceiveAsync(ws, token);
        var closed = DrainUntilCloseAsync(ws, token);
        await gw.DisposeAsync();
        Assert.That(await closed, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Readyz_Is503WithoutBackhaul_AndHealthzIsAlive(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(withCore: false);
        using var http = new HttpClient();
        var ready = await http.GetAsync(gw.HttpUrl + "/readyz", token);
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(await ready.Content.ReadAsStringAsync(token), Does.Contain("backhaul"));
        Assert.That((await http.GetAsync(gw.HttpUrl + "/healthz", token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await UpgradeStatusAsync(gw, $"?access_token={GatewayFixture.Token()}", token), Is.EqualTo(HttpStatusCode.ServiceUnavailable), "no session is accepted that could only wait for a link");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Drain_Closes4001_AndReadinessTurns503(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var ws = await gw.ConnectAsync(ct: token);
        using var http = new HttpClient();
        var closed = DrainUntilCloseAsync(ws, token);
        using var request = new HttpRequestMessage(HttpMethod.Post, gw.HttpUrl + "/admin/drain");
        Assert.That((await http.SendAsync(request, token)).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "no admin key, no drain");
        using var unforced = new HttpRequestMessage(HttpMethod.Post, gw.HttpUrl + "/admin/drain");
        unforced.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "admin-test-key");
        var refused = await http.SendAsync(unforced, token);
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "no fleet view says another relay is healthy: this may be the last one");
        Assert.That(ws.State, Is.EqualTo(WebSocketState.Open));

        using var authorized = new HttpRequestMessage(HttpMethod.Post, gw.HttpUrl + "/admin/drain?force=true");
        authorized.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "admin-test-key");
        Assert.That((await http.SendAsync(authorized, token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await closed, Is.EqualTo((WebSocketCloseStatus)4001));
        Assert.That((await http.GetAsync(gw.HttpUrl + "/readyz", token)).StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Closing_ClientStillSendingAfterTheCloseFrame_GatewayWaitsForItsClose([Values(4001, 1009)] int code, CancellationToken token)
    {
        // A client may have messages in flight when the gateway's close (a drain's 4001, a limit's 1009) reaches
        // it. The gateway must go on reading (and dropping: they stay in the client's outbox for the resume) until
        // the client's close frame: a gateway that stopped reading and dropped the connection with the close
        // handshake half done aborted it, the close frame in flight could be lost, and the client saw 1006 instead
        // of the code (seen in CI: the JS SDK's drain test).
        await using var gw = await GatewayFixture.StartAsync(o => o.MaxMessageSize = 1024);
        var registry = gw.App.Services.GetRequiredService<Sessions.SessionRegistry>();
        using var ws = await gw.ConnectAsync(ct: token);
        if (code == 4001)
        {
            using var http = new HttpClient();
            using var drain = new HttpRequestMessage(HttpMethod.Post, gw.HttpUrl + "/admin/drain?force=true");
            drain.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "admin-test-key");
            Assert.That((await http.SendAsync(drain, token)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }
        else
        {
            await ws.SendAsync(new byte[4096], WebSocketMessageType.Binary, true, token);
        }

        var buffer = new byte[1024];
        var first = await ws.ReceiveAsync(buffer, token);
        Assert.That((first.MessageType, ws.CloseStatus), Is.EqualTo((WebSocketMessageType.Close, (WebSocketCloseStatus?)(WebSocketCloseStatus)code)));
        await ws.SendAsync("sent before the client read the close"u8.ToArray(), WebSocketMessageType.Text, true, token);
        Assert.That(registry.Count, Is.EqualTo(1), "the gateway still waits for the client's close frame");

        // The close handshake completes: the gateway neither reset the connection nor gave up on the close.
        await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "moving", token);
        Assert.That(ws.State, Is.EqualTo(WebSocketState.Closed));
        for (int i = 0; i < 100 && registry.Count > 0; i++)
        {
            await Task.Delay(50, token);
        }

        Assert.That(registry.Count, Is.EqualTo(0), "the session ends once the close handshake is complete");
    }

    internal static async Task<HttpStatusCode> UpgradeStatusAsync(GatewayFixture gw, string query, CancellationToken token, string? origin = null)
    {
        using var ws = new ClientWebSocket();
        ws.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            ws.Options.SetRequestHeader("Origin", origin);
        }

        try
        {
            await ws.ConnectAsync(new Uri(gw.WsUrl + query), token);
            return HttpStatusCode.SwitchingProtocols;
        }
        catch (WebSocketException)
        {
            return ws.HttpStatusCode;
        }
    }

    internal static async Task<WebSocketCloseStatus?> DrainUntilCloseAsync(WebSocket ws, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var r = await ws.ReceiveAsync(buffer, token);
                if (r.MessageType == WebSocketMessageType.Close)
                {
                    return ws.CloseStatus;
                }
            }
        }
        catch (WebSocketException)
        {
            return ws.CloseStatus;
        }
    }
    /// <summary>Moves a fake clock 50 ms every 5 ms of real time while started (from construction; disposed: stopped).</summary>
    internal sealed class RunningClock : IAsyncDisposable
    {
        private readonly FakeTimeProvider _time;
        private CancellationTokenSource? _running;
        private Task _ticker = Task.CompletedTask;

        public RunningClock(FakeTimeProvider time)
        {
            _time = time;
            Start();
        }

        public void Start()
        {
            var running = new CancellationTokenSource();
            _running = running;
            _ticker = Task.Run(async () =>
            {
                while (!running.IsCancellationRequested)
                {
                    _time.Advance(TimeSpan.FromMilliseconds(50));
                    await Task.Delay(5, CancellationToken.None);
                }
            }, CancellationToken.None);
        }

        public async Task StopAsync()
        {
            if (_running is { } running)
            {
                await running.CancelAsync();
                await _ticker;
                running.Dispose();
                _running = null;
            }
        }

        public async ValueTask DisposeAsync() => await StopAsync();
    }
}
