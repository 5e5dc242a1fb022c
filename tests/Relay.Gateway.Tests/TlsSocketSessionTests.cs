using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Edge;
using Relay.Gateway.Metrics;
using Relay.Testing;

namespace Relay.Gateway.Tests;

/// <summary>
/// Issue 21: the wss listener owns its connections too. The relay does the TLS handshake itself on the accepted socket
/// (<see cref="Upgrade.SocketUpgrade"/>); an HTTP/1.1 upgrade becomes a session on that TLS stream and socket, not a
/// Kestrel connection, and everything else (HTTP/2, pages, a head in pieces) reaches Kestrel decrypted
/// (<see cref="Upgrade.DecryptedConnection"/>). What a client and an operator see must not change.
/// </summary>
[NonParallelizable]
public class TlsSocketSessionTests
{
    [Test]
    [CancelAfter(60_000)]
    public Task WssSessions_RunOnTheirOwnSockets_PagesAndHttp2StillWork_AndTheGateGetsEveryPlaceBack(CancellationToken token) => WithTlsGatewayAsync(async gw =>
        {
            var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
            var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
            using var handler = Handler();
            using var invoker = new HttpMessageInvoker(handler);
            var sockets = new List<ClientWebSocket>();
            for (int i = 0; i < 3; i++)
            {
                var ws = new ClientWebSocket();
                await ws.ConnectAsync(new Uri($"{gw.WssUrl}?access_token={GatewayFixture.Token()}"), invoker, token);
                await ws.SendAsync(Encoding.UTF8.GetBytes($"m{i}"), WebSocketMessageType.Text, true, token);
                Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo($"m{i}"));
                sockets.Add(ws);
            }

            Assert.That((metrics.SocketUpgrades, metrics.FastUpgrades, metrics.HttpUpgrades, metrics.TlsDirectSessions), Is.EqualTo((3L, 0L, 0L, 3L)),
                "each wss session runs on its own socket, straight on its TLS stream");
            Assert.That(gate.Open, Is.EqualTo(3), "each counts as an open connection");

            // Requests that are not sessions reach Kestrel decrypted: HTTP/1.1 with keep-alive, and HTTP/2 by ALPN.
            string https = gw.WssUrl!.Replace("wss://", "https://", StringComparison.Ordinal).Replace("/ws", "", StringComparison.Ordinal);
            using var client = new HttpClient(Handler());
            for (int i = 0; i < 2; i++)
            {
                using var h1 = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, https + "/healthz") { Version = HttpVersion.Version11, VersionPolicy = HttpVersionPolicy.RequestVersionExact }, token);
                Assert.That((h1.StatusCode, h1.Version), Is.EqualTo((HttpStatusCode.OK, HttpVersion.Version11)));
            }

            using var h2 = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, https + "/healthz") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact }, token);
            Assert.That((h2.StatusCode, h2.Version), Is.EqualTo((HttpStatusCode.OK, HttpVersion.Version20)));
            Assert.That(gate.Open, Is.EqualTo(5), "the sessions and the client's two connections (HTTP/1.1 kept alive, HTTP/2)");
            client.Dispose();

            foreach (var ws in sockets)
            {
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
                Assert.That(ws.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure), "the close handshake completes");
                ws.Dispose();
            }

            // A refused upgrade (bad token) on the TLS listener gets its 401 and gives its place back too.
            using (var refused = new ClientWebSocket())
            {
                refused.Options.CollectHttpResponseDetails = true;
                Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(new Uri(gw.WssUrl + "?access_token=not-a-jwt"), invoker, token));
                Assert.That(refused.HttpStatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            }

            while (gate.Open != 0 || metrics.Sessions != 0)
            {
                await Task.Delay(20, token); // sessions end a moment after their close handshakes
            }

            Assert.That((gate.Open, gate.PreAuth), Is.EqualTo((0, 0)));
        });

    [Test]
    [CancelAfter(60_000)]
    public Task TlsConnectionsThatVanishAtEveryStep_LeaveNothingCounted_AndSessionsStillWork(CancellationToken token) => WithTlsGatewayAsync(async gw =>
        {
            var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
            int port = new Uri(gw.WssUrl!).Port;
            byte[] head = SocketSessionTests.UpgradeHead();
            byte[] frame = SocketSessionTests.HiFrame;
            for (int i = 0; i < 40; i++) // bounded: 40 connections, 10 ways of going away
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(IPAddress.Loopback, port, token);
                int step = i % 10;
                if (step < 3)
                {
                    switch (step)
                    {
                        case 0: break; // nothing sent
                        case 1: await s.SendAsync("\x16\x03\x01\x02\x00\x01"u8.ToArray(), token); break; // half a ClientHello
                        case 2: await s.SendAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"), token); Assert.That(await EndsAsync(s, token), Is.True, "plain HTTP on the TLS port: closed"); break;
                    }
                }
                else
                {
                    using var tls = new SslStream(new NetworkStream(s, ownsSocket: false), false, (_, _, _, _) => true);
                    await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http11] }, token);
                    switch (step)
                    {
                        case 3: break; // a handshake, then nothing
                        case 4: await tls.WriteAsync(head.AsMemory(0, 20), token); break; // half a head
                        case 5: await tls.WriteAsync(head, token); break; // a head, then gone before the 101
                        case 6: await tls.WriteAsync((byte[])[.. head, .. frame], token); break; // a head and a frame (handed to Kestrel)
                        case 7: await tls.WriteAsync(head, token); await ReadSomeAsync(tls, token); break; // a session, then gone
                        case 8: await tls.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"), token); await ReadSomeAsync(tls, token); break; // a request, kept alive, then gone
                        case 9: await tls.WriteAsync(head, token); await ReadSomeAsync(tls, token); s.Shutdown(SocketShutdown.Send); break;
                    }
                }

                if (i % 2 == 0)
                {
                    s.LingerState = new LingerOption(true, 0); // a reset instead of a FIN
                }
            }

            using var handler = Handler();
            using var invoker = new HttpMessageInvoker(handler);
            using var ws = new ClientWebSocket();
            await ws.ConnectAsync(new Uri($"{gw.WssUrl}?access_token={GatewayFixture.Token()}"), invoker, token);
            await ws.SendAsync("still here"u8.ToArray(), WebSocketMessageType.Text, true, token);
            Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("still here"));
            var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
            Assert.That(metrics.TlsHandshakeFailures, Is.GreaterThanOrEqualTo(4), "at least the four plain HTTP requests on the TLS port are counted as failed handshakes");
            while (gate.Open != 1 || gate.PreAuth != 0 || metrics.Sessions != 1)
            {
                await Task.Delay(20, token); // the vanished connections end a moment after their sockets do
            }

            Assert.That((gate.Open, gate.PreAuth, metrics.Sessions), Is.EqualTo((1, 0, 1L)), "only the live session is counted");
            while (SocketSessionTests.ServerSideStates(port).Contains(0x08))
            {
                await Task.Delay(20, token); // none stays in CLOSE_WAIT: every socket of a vanished client is closed
            }

            Assert.That(SocketSessionTests.ServerSideStates(port), Does.Not.Contain(0x08));
        });

    /// <summary>
    /// A client that goes away in the middle of an https request (a page left while the core is slow): the relay notices
    /// and gives up the request it forwarded to the core, as it does on Kestrel's own TLS connections, instead of
    /// keeping the core's stream until the edge's timeout. A connection handed to Kestrel decrypted must say when its
    /// client is gone (<c>ConnectionClosed</c>).
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public Task HttpsRequest_ClientGoneMidRequest_TheRequestForwardedToTheCoreEnds([Values] bool socketSessions, CancellationToken token) => WithTlsGatewayAsync(
        async gw =>
        {
            var forwarded = new TaskCompletionSource<Tunnel.Streams.MuxStream>(TaskCreationOptions.RunContinuationsAsynchronously);
            gw.CoreHandler = async (stream, ct) =>
            {
                forwarded.TrySetResult(stream);
                await stream.Completion.WaitAsync(ct); // a slow core: it never answers
            };
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, new Uri(gw.WssUrl!).Port, token);
            using (var tls = new SslStream(new NetworkStream(s, ownsSocket: false), false, (_, _, _, _) => true))
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http11] }, token);
                await tls.WriteAsync(Encoding.ASCII.GetBytes("GET /api/slow HTTP/1.1\r\nHost: localhost\r\n\r\n"), token);
                var stream = await forwarded.Task.WaitAsync(token);
                s.Close(); // the client goes: its FIN

                var ended = stream.Completion;
                Assert.That(await Task.WhenAny(ended, Task.Delay(TimeSpan.FromSeconds(20), token)), Is.SameAs(ended),
                    "the forwarded request ended once its client was gone, long before the edge's 5 min timeout");
            }
        },
        o => o.SocketSessions = socketSessions,
        args: ["--Gateway:EdgeHttp:Prefixes:0=/api/", "--Gateway:EdgeHttp:Timeout=00:05:00"]);

    /// <summary>
    /// The head deadline covers the TLS handshake: a connection that never finishes its handshake, or finishes it and
    /// sends no head, is closed at <c>RequestHeadTimeout</c> on the gateway's clock, and its pre-auth place is free.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task SilentTlsConnections_AreClosedAtTheHeadDeadline_TheHandshakeIncluded(CancellationToken token)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new SessionTests.RunningClock(time); // the gateway's own timers need it to start
        await WithTlsGatewayAsync(
            async gw =>
            {
                var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
                int port = new Uri(gw.WssUrl!).Port;
                await clock.StopAsync();
                try
                {
                    using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await silent.ConnectAsync(IPAddress.Loopback, port, token);
                    using var halfHello = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await halfHello.ConnectAsync(IPAddress.Loopback, port, token);
                    await halfHello.SendAsync("\x16\x03\x01\x02\x00\x01"u8.ToArray(), token);
                    using var noHead = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    await noHead.ConnectAsync(IPAddress.Loopback, port, token);
                    await using var tls = new SslStream(new NetworkStream(noHead, ownsSocket: false), false, (_, _, _, _) => true);
                    await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, token);
                    while (gate.PreAuth != 3)
                    {
                        await Task.Delay(10, token);
                    }

                    time.Advance(TimeSpan.FromSeconds(9));
                    await Task.Delay(200, token);
                    Assert.That(gate.PreAuth, Is.EqualTo(3), "before the deadline all three wait");

                    time.Advance(TimeSpan.FromSeconds(2)); // past the 10 s deadline
                    Assert.That(await EndsAsync(silent, token), Is.True, "no ClientHello: closed");
                    Assert.That(await EndsAsync(halfHello, token), Is.True, "half a ClientHello: closed");
                    Assert.That(await EndsAsync(noHead, token), Is.True, "a handshake and no head: closed");
                    while (gate.Open != 0 || gate.PreAuth != 0)
                    {
                        await Task.Delay(10, token);
                    }
                }
                finally
                {
                    clock.Start();
                }
            },
            o => o.RequestHeadTimeout = TimeSpan.FromSeconds(10),
            time);
    }

    /// <summary>
    /// A client that resets its connection after the TLS handshake (a browser's preconnect it did not use, a scanner,
    /// a handshake flood) is an ordinary event: Kestrel's path logged each one as an Error with a stack trace ("Unhandled
    /// exception while processing", from the head read of the relay's connection middleware).
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(60_000)]
    public Task ResetAfterTheHandshake_LogsNothingAboveDebug(bool socketSessions, CancellationToken token) => WithTlsGatewayAsync(
        async gw =>
        {
            var capture = new Relay.Testing.Logging.LogCapture();
            gw.App.Services.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>().AddProvider(capture);
            var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
            int port = new Uri(gw.WssUrl!).Port;
            for (int i = 0; i < 5; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(IPAddress.Loopback, port, token);
                var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), false, (_, _, _, _) => true);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, token);
                if (i % 2 == 1)
                {
                    await tls.WriteAsync("GET /ws HTTP/1.1\r\nHost: x\r\n"u8.ToArray(), token); // half a head, then the reset
                }

                socket.LingerState = new LingerOption(true, 0);
                socket.Close(); // RST
            }

            for (int i = 0; i < 500 && gate.Open != 0; i++)
            {
                await Task.Delay(10, token);
            }

            Assert.That(gate.Open, Is.Zero, "every reset connection is gone");
            Assert.That(capture.Entries.Where(e => e.StartsWith("Error", StringComparison.Ordinal) || e.StartsWith("Critical", StringComparison.Ordinal) || e.StartsWith("Warning", StringComparison.Ordinal)), Is.Empty);
        },
        o => o.SocketSessions = socketSessions);

    /// <summary>
    /// True once the gateway closed or reset the connection (whatever it still sent is read and dropped); false when it
    /// is still open 10 s later (a bound for the test, not a figure).
    /// </summary>
    private static async Task<bool> EndsAsync(Socket socket, CancellationToken token)
    {
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, token).AsTask().WaitAsync(TimeSpan.FromSeconds(10), token) > 0)
            {
            }
        }
        catch (SocketException)
        {
        }
        catch (TimeoutException)
        {
            return false;
        }

        return true;
    }

    private static async Task ReadSomeAsync(SslStream tls, CancellationToken token)
    {
        var buffer = new byte[256];
        _ = await tls.ReadAsync(buffer, token); // the 101 or a response, or part of it
    }

    private static SocketsHttpHandler Handler()
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=localhost";
        return handler;
    }

    private static Task WithTlsGatewayAsync(Func<GatewayFixture, Task> test, Action<Relay.Gateway.Configuration.GatewayOptions>? configure = null, TimeProvider? time = null, string[]? args = null) =>
        TlsTests.WithTlsGatewayAsync((gw, _) => test(gw), configure, time, args);
}
