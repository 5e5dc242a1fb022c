using Relay.Testing;
using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Relay.Gateway.Tests;

[NonParallelizable]
public class TlsTests
{
    [TestCase("1.1", true, true)]
    [TestCase("2.0", true, true)]
    [TestCase("1.1", false, true)]
    [TestCase("1.1", true, false)]
    [TestCase("2.0", true, false)]
    [CancelAfter(30_000)]
    public async Task Wss_WithTestCertificate_Echoes(string httpVersion, bool releaseBuffers, bool socketSessions, CancellationToken token)
    {
        string dir = TempFolders.Create("relay-tls-");
        try
        {
            var (certPath, keyPath) = WriteSelfSigned(dir);
            await using var gw = await GatewayFixture.StartAsync(o => { o.CertificateKeyPath = keyPath; o.TlsReleaseBuffers = releaseBuffers; o.SocketSessions = socketSessions; }, certificatePath: certPath);
            Assert.That(gw.WssUrl, Is.Not.Null);

            using var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=localhost";
            using var invoker = new HttpMessageInvoker(handler);
            using var ws = new ClientWebSocket();
            ws.Options.HttpVersion = Version.Parse(httpVersion);
            ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            ws.Options.CollectHttpResponseDetails = true;
            await ws.ConnectAsync(new Uri($"{gw.WssUrl}?access_token={GatewayFixture.Token()}"), invoker, token);
            Assert.That(ws.HttpStatusCode, Is.EqualTo(httpVersion == "2.0" ? HttpStatusCode.OK : HttpStatusCode.SwitchingProtocols), "RFC 8441 CONNECT answers 200; HTTP/1.1 upgrade answers 101");

            await ws.SendAsync("over tls"u8.ToArray(), WebSocketMessageType.Text, true, token);
            var echo = await GatewayFixture.ReceiveAsync(ws, token);
            Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo("over tls"));
            var metrics = gw.App.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
            Assert.That(
                (metrics.SocketUpgrades, metrics.FastUpgrades, metrics.HttpUpgrades),
                Is.EqualTo(httpVersion == "2.0" ? (0L, 0L, 1L) : socketSessions ? (1L, 0L, 0L) : (0L, 1L, 0L)),
                "HTTP/1.1 over TLS: a session on its own socket (issue 21), or with SocketSessions off the connection fast path; HTTP/2 goes through ASP.NET Core");
            Assert.That(metrics.TlsBuffersReleased, Is.EqualTo(releaseBuffers ? 1 : 0), "OpenSSL frees this connection's buffers while it is idle (issue 21: Linux, OpenSSL 3), unless told not to");
            Assert.That(metrics.TlsDirectSessions, Is.EqualTo(httpVersion == "2.0" ? 0 : 1), "an HTTP/1.1 wss session runs straight on the connection's TLS stream (issue 21)");
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, token);
            Assert.That(ws.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure), "the close handshake completes over TLS");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public Task Wss_HeadAndAFrameInOneWrite_TheFrameIsNotLost_AndTheSessionReadsThroughThePipe(CancellationToken token) => WithTlsGatewayAsync(async (gw, _) =>
        {
            var uri = new Uri(gw.WssUrl!);
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, uri.Port, token);
            await using var tls = new System.Net.Security.SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new System.Net.Security.SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [System.Net.Security.SslApplicationProtocol.Http11],
            }, token);

            // The upgrade request and a masked text frame ("hi") in one TLS write, before the 101: the relay reads both
            // through the connection's pipe; the frame must reach the core, and its echo come back.
            string head = $"GET /ws?access_token={GatewayFixture.Token()} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
            byte[] frame = [0x81, 0x82, 1, 2, 3, 4, (byte)('h' ^ 1), (byte)('i' ^ 2)];
            await tls.WriteAsync((byte[])[.. Encoding.ASCII.GetBytes(head), .. frame], token);

            var received = new List<byte>();
            var chunk = new byte[256];
            while (IndexOfHeadEnd(received) < 0 || received.Count < IndexOfHeadEnd(received) + 4)
            {
                int n = await tls.ReadAsync(chunk, token);
                Assert.That(n, Is.GreaterThan(0), "the relay closed the connection");
                received.AddRange(chunk.AsSpan(0, n));
            }

            int end = IndexOfHeadEnd(received);
            Assert.That(Encoding.ASCII.GetString([.. received.Take(end)]), Does.StartWith("HTTP/1.1 101 Switching Protocols\r\n"));
            Assert.That(received.Skip(end).Take(4).ToArray(), Is.EqualTo(new byte[] { 0x81, 2, (byte)'h', (byte)'i' }), "an unmasked server text frame \"hi\"");
            var metrics = gw.App.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
            Assert.That((metrics.FastUpgrades, metrics.TlsDirectSessions), Is.EqualTo((1L, 0L)), "the connection fast path, reading through the pipe that holds the frame");
        });

    [Test]
    [CancelAfter(60_000)]
    public Task Wss_SlowReader_IsClosed1013_OnTheDirectPath([Values] bool socketSessions, CancellationToken token) => WithTlsGatewayAsync(async (gw, _) =>
        {
            var floodEnded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            gw.CoreHandler = async (stream, ct) =>
            {
                using var first = await stream.ReceiveAsync(ct);
                var chunk = new byte[32 * 1024];
                bool open = true;
                for (int i = 0; i < 4000 && open; i++)
                {
                    open = await stream.SendAsync(chunk, false, ct);
                }

                floodEnded.TrySetResult(!open); // true: the relay closed the stream before the flood was through
            };

            // A wss client with a tiny receive buffer that stops reading: the relay's sends to it block in the TLS stream.
            using var handler = new SocketsHttpHandler();
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
            using var invoker = new HttpMessageInvoker(handler);
            using var slow = new ClientWebSocket();
            slow.Options.SetBuffer(1024, 1024);
            await slow.ConnectAsync(new Uri($"{gw.WssUrl}?access_token={GatewayFixture.Token()}"), invoker, token);
            await slow.SendAsync("flood me"u8.ToArray(), WebSocketMessageType.Text, true, token);
            Assert.That(await floodEnded.Task.WaitAsync(token), Is.True, "the relay gave up on the client, not the core on the flood");

            // Now it reads: after what the connection buffered, it finds close 1013, and its session is gone.
            Assert.That(await SessionTests.DrainUntilCloseAsync(slow, token), Is.EqualTo((WebSocketCloseStatus)1013));
            await slow.CloseOutputAsync((WebSocketCloseStatus)1013, null, token); // the reply a browser sends by itself
            var metrics = gw.App.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
            using var http = new HttpClient();
            var scrape = await PrometheusScrape.GetWhenAsync(http, gw.HttpUrl, m => m.GetValueOrDefault("relay_gateway_sessions") == 0, token);
            Assert.That(scrape.GetValueOrDefault("relay_gateway_sessions", -1), Is.Zero, "the slow session is gone");
            Assert.That((metrics.TlsDirectSessions, metrics.SocketUpgrades, metrics.Closes(1013)), Is.EqualTo((1L, socketSessions ? 1L : 0L, 1L)), "it ran on the direct path (its own socket, or Kestrel's connection) and ended with 1013");
        }, o => { o.SendQueueBytes = 128 * 1024; o.SocketSessions = socketSessions; });

    /// <summary>
    /// An RFC 8441 session (what a browser opens on an HTTP/2 connection it already has to the relay) goes through
    /// ASP.NET Core on a connection the fast path handed over; the fast path's head deadline must not follow it there.
    /// It did: every HTTP/2 session was cut at <c>RequestHeadTimeout</c> (10 s) and its client reconnected.
    /// </summary>
    [Test]
    [CancelAfter(60_000)]
    public async Task Wss_Http2Session_OutlivesTheRequestHeadDeadline(CancellationToken token)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new SessionTests.RunningClock(time); // the gateway's own timers need it until the session is open
        await WithTlsGatewayAsync(
            async (gw, _) =>
            {
                using var handler = new SocketsHttpHandler();
                handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
                using var invoker = new HttpMessageInvoker(handler);
                using var ws = new ClientWebSocket();
                ws.Options.HttpVersion = HttpVersion.Version20;
                ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
                await ws.ConnectAsync(new Uri($"{gw.WssUrl}?access_token={GatewayFixture.Token()}"), invoker, token);
                await ws.SendAsync("before"u8.ToArray(), WebSocketMessageType.Text, true, token);
                Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("before"));

                await clock.StopAsync();
                try
                {
                    time.Advance(TimeSpan.FromSeconds(11)); // past the 10 s head deadline of the connection it came on
                    await ws.SendAsync("after"u8.ToArray(), WebSocketMessageType.Text, true, token);
                    Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("after"), "the session is still open");
                }
                finally
                {
                    clock.Start();
                }

                var metrics = gw.App.Services.GetRequiredService<Relay.Gateway.Metrics.GatewayMetrics>();
                Assert.That((metrics.HttpUpgrades, metrics.Closes(1001)), Is.EqualTo((1L, 0L)));
                await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, token);
            },
            o => o.RequestHeadTimeout = TimeSpan.FromSeconds(10),
            time);
    }

    /// <summary>Runs <paramref name="test"/> against a gateway with a self-signed certificate in a fresh folder (given too).</summary>
    internal static async Task WithTlsGatewayAsync(Func<GatewayFixture, string, Task> test, Action<Relay.Gateway.Configuration.GatewayOptions>? configure = null, TimeProvider? time = null, string[]? args = null)
    {
        string dir = TempFolders.Create("relay-tls-");
        try
        {
            var (certPath, keyPath) = WriteSelfSigned(dir);
            await using var gw = await GatewayFixture.StartAsync(o => { o.CertificateKeyPath = keyPath; configure?.Invoke(o); }, certificatePath: certPath, time: time, args: args);
            await test(gw, dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Where the bytes after an HTTP head start (past its blank line), or -1.</summary>
    private static int IndexOfHeadEnd(List<byte> bytes)
    {
        for (int i = 3; i < bytes.Count; i++)
        {
            if (bytes[i - 3] == '\r' && bytes[i - 2] == '\n' && bytes[i - 1] == '\r' && bytes[i] == '\n')
            {
                return i + 1;
            }
        }

        return -1;
    }

    [Test]
    [CancelAfter(30_000)]
    public Task CertificateFile_Replaced_IsServedWithoutRestart(CancellationToken token) => WithTlsGatewayAsync(async (gw, dir) =>
        {
            string certPath = Path.Combine(dir, "gateway.crt");
            Assert.That(await ServedSubjectAsync(gw, token), Is.EqualTo("CN=localhost"));

            // The operator renews the certificate in place (same paths, new files).
            RenewInPlace(dir, certPath);
            string? subject = null;
            for (int i = 0; i < 50 && subject != "CN=localhost-renewed"; i++)
            {
                await Task.Delay(200, token);
                subject = await ServedSubjectAsync(gw, token);
            }

            Assert.That(subject, Is.EqualTo("CN=localhost-renewed"));
        });

    [Test]
    [CancelAfter(30_000)]
    public async Task CertificateContext_IsBuiltOncePerFile_NotPerHandshake(CancellationToken token)
    {
        // Kestrel's per-handshake certificate selector made SslStream build a context (chain, SSL_CTX) for every
        // connection: ~2.5 ms of gateway CPU per handshake against ~1.3 ms with one context per file (bench/README.md).
        string dir = TempFolders.Create("relay-tls-");
        try
        {
            var (certPath, keyPath) = WriteSelfSigned(dir);
            var holder = new Relay.Gateway.Tls.CertificateHolder(new Relay.Gateway.Configuration.GatewayOptions { CertificatePath = certPath, CertificateKeyPath = keyPath });
            var first = holder.Context;
            Assert.That(holder.Context, Is.SameAs(first), "every handshake gets the same context while the file is unchanged");
            Assert.That(first.TargetCertificate.Subject, Is.EqualTo("CN=localhost"));

            RenewInPlace(dir, certPath);
            var renewed = first;
            for (int i = 0; i < 50 && ReferenceEquals(renewed, first); i++)
            {
                await Task.Delay(200, token);
                renewed = holder.Context;
            }

            Assert.That(renewed.TargetCertificate.Subject, Is.EqualTo("CN=localhost-renewed"), "a renewed file gets a new context");
            Assert.That(holder.Context, Is.SameAs(renewed));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string?> ServedSubjectAsync(GatewayFixture gw, CancellationToken token)
    {
        string? subject = null;
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            subject = cert?.Subject;
            return true;
        };
        using var http = new HttpClient(handler);
        var uri = new Uri(gw.WssUrl!.Replace("wss://", "https://", StringComparison.Ordinal).Replace("/ws", "/healthz", StringComparison.Ordinal));
        (await http.GetAsync(uri, token)).EnsureSuccessStatusCode();
        return subject;
    }

    /// <summary>The operator renews the certificate in place (same paths, new files, a newer stamp).</summary>
    private static void RenewInPlace(string dir, string certPath)
    {
        WriteSelfSigned(dir, "CN=localhost-renewed");
        File.SetLastWriteTimeUtc(certPath, DateTime.UtcNow.AddSeconds(5));
    }

    internal static (string Cert, string Key) WriteSelfSigned(string dir, string subject = "CN=localhost")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        string certPath = Path.Combine(dir, "gateway.crt"), keyPath = Path.Combine(dir, "gateway.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }
}
