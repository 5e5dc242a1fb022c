using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Relay.Gateway.Metrics;
using Relay.Gateway.Upgrade;

namespace Relay.Gateway.Tests;

/// <summary>
/// The HTTP/1.1 upgrade fast path (a Kestrel connection middleware): the strict request-head parser, fuzzed; and
/// on a real gateway, what it takes, what it hands to Kestrel's HTTP stack, and what a client sees either way.
/// </summary>
public class UpgradeFastPathTests
{
    private const string Key = "dGhlIHNhbXBsZSBub25jZQ==";

    private static string Head(string target = "/ws?access_token=abc", string extra = "") =>
        $"GET {target} HTTP/1.1\r\nHost: relay.example\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {Key}\r\nOrigin: https://chat.example\r\n{extra}\r\n";

    [Test]
    public void Parser_AcceptsAPlainUpgrade_AndReadsTokenOriginKey()
    {
        var head = Encoding.ASCII.GetBytes(Head("/ws?x=1&access_token=a%2Eb%2Bc+d&y") + "trailing frame bytes");
        Assert.That(UpgradeRequest.Parse(head, "/ws", out var request, out int length), Is.EqualTo(UpgradeParse.WebSocket));
        Assert.That(length, Is.EqualTo(Head("/ws?x=1&access_token=a%2Eb%2Bc+d&y").Length), "the head ends at its empty line; what follows stays for the websocket");
        Assert.That((request!.Token, request.Origin, request.Key, request.OffersDeflate), Is.EqualTo(("a.b+c d", "https://chat.example", Key, false)));
        Assert.That(Relay.Gateway.Sessions.SessionEndpoint.AcceptKey(Key), Is.EqualTo("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "RFC 6455 §1.3's example");
    }

    [TestCase("POST /ws HTTP/1.1\r\nHost: a\r\n\r\n")]
    [TestCase("GET /wsx HTTP/1.1\r\nHost: a\r\n\r\n")]
    [TestCase("GET /ws/ HTTP/1.1\r\nHost: a\r\n\r\n")]
    [TestCase("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")]
    [TestCase("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")]
    [TestCase("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")]
    public void Parser_HandsOverOtherRequests_FromTheFirstBytes(string start)
    {
        Assert.That(UpgradeRequest.Parse(Encoding.Latin1.GetBytes(start), "/ws", out _, out _), Is.EqualTo(UpgradeParse.NotOurs));
    }

    [TestCase("Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version: 8\r\n")]
    [TestCase("Upgrade: websocket\r\n", "Upgrade: h2c\r\n")]
    [TestCase("Connection: keep-alive, Upgrade\r\n", "Connection: keep-alive\r\n")]
    [TestCase("Host: relay.example\r\n", "")]
    [TestCase($"Sec-WebSocket-Key: {Key}\r\n", "Sec-WebSocket-Key: short\r\n")]
    [TestCase($"Sec-WebSocket-Key: {Key}\r\n", "")]
    [TestCase("Host: relay.example\r\n", "Host: relay.example\r\n folded\r\n")]
    [TestCase("Host: relay.example\r\n", "Host : relay.example\r\n")]
    [TestCase("Host: relay.example\r\n", "Host: a\r\nHost: b\r\n")]
    [TestCase("Host: relay.example\r\n", "Host: a\r\nContent-Length: 5\r\n")]
    [TestCase("Host: relay.example\r\n", "Host: a\r\nTransfer-Encoding: chunked\r\n")]
    [TestCase(" HTTP/1.1\r\n", " HTTP/1.0\r\n")]
    [TestCase("access_token=abc", "access_token=%zz")]
    [TestCase("access_token=abc", "access_token=%C3%28")]
    public void Parser_HandsOverAnythingItDoesNotFullyUnderstand(string from, string to)
    {
        string head = Head();
        Assert.That(head, Does.Contain(from));
        Assert.That(UpgradeRequest.Parse(Encoding.ASCII.GetBytes(head.Replace(from, to)), "/ws", out _, out _), Is.EqualTo(UpgradeParse.NotOurs), to);
    }

    [Test]
    public void Parser_EveryPrefix_IsIncomplete_AndEverySegmentSplit_ParsesTheSame()
    {
        byte[] head = Encoding.ASCII.GetBytes(Head());
        for (int n = 0; n < head.Length; n++)
        {
            Assert.That(UpgradeRequest.Parse(head.AsSpan(0, n), "/ws", out _, out _), Is.EqualTo(UpgradeParse.Incomplete), $"prefix of {n} bytes");
        }

        for (int split = 1; split < head.Length; split++)
        {
            var sequence = Sequences.TwoSegments(head, split);
            Assert.That(UpgradeRequest.Parse(sequence, "/ws", out var request, out int length), Is.EqualTo(UpgradeParse.WebSocket), $"split at {split}");
            Assert.That((length, request!.Token), Is.EqualTo((head.Length, "abc")));
        }
    }

    [Test]
    public void Parser_HeadLongerThanItsCap_IsHandedOver_NotBuffered()
    {
        string padding = "X-Pad: " + new string('a', UpgradeRequest.MaxHeadBytes) + "\r\n";
        byte[] head = Encoding.ASCII.GetBytes(Head(extra: padding));
        Assert.That(UpgradeRequest.Parse(new ReadOnlySequence<byte>(head), "/ws", out _, out _), Is.EqualTo(UpgradeParse.NotOurs));
        Assert.That(UpgradeRequest.Parse(head.AsSpan(0, UpgradeRequest.MaxHeadBytes - 1), "/ws", out _, out _), Is.EqualTo(UpgradeParse.Incomplete));
    }

    [Test]
    public void Parser_Fuzz_RandomBytesAndMutations_NeverThrow_AndNeverAcceptWithoutTheRequiredHeaders()
    {
        var random = new Random(4242);
        byte[] valid = Encoding.ASCII.GetBytes(Head());
        for (int i = 0; i < 20_000; i++)
        {
            byte[] input;
            if (i % 2 == 0)
            {
                input = new byte[random.Next(0, 600)];
                random.NextBytes(input);
                if (i % 4 == 0 && input.Length > 8)
                {
                    "GET /ws "u8.CopyTo(input);
                }
            }
            else
            {
                input = (byte[])valid.Clone();
                for (int m = random.Next(1, 4); m > 0; m--)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }
            }

            var outcome = UpgradeRequest.Parse(input, "/ws", out var request, out int length);
            if (outcome == UpgradeParse.WebSocket)
            {
                string text = Encoding.Latin1.GetString(input, 0, length);
                Assert.That(text, Does.StartWith("GET /ws").And.EndWith("\r\n\r\n"));
                Assert.That(text.ToLowerInvariant(), Does.Contain("websocket").And.Contain("upgrade").And.Contain("13"));
                Assert.That(Convert.FromBase64String(request!.Key), Has.Length.EqualTo(16));
            }
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task PlainClient_TakesTheFastPath_AndEchoes(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var ws = await gw.ConnectAsync(options: o => o.CollectHttpResponseDetails = true, ct: token);
        Assert.That(ws.HttpStatusCode, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
        await ws.SendAsync("fast"u8.ToArray(), WebSocketMessageType.Text, true, token);
        var echo = await GatewayFixture.ReceiveAsync(ws, token);
        Assert.That(Encoding.UTF8.GetString(echo.Data), Is.EqualTo("fast"));
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        Assert.That((metrics.SocketUpgrades, metrics.FastUpgrades, metrics.HttpUpgrades), Is.EqualTo((1L, 0L, 0L)), "issue 21: a session on its own socket, not a Kestrel connection");
        using var http = new HttpClient();
        var scraped = await PrometheusScrape.GetAsync(http, gw.HttpUrl, token);
        Assert.That(scraped["relay_gateway_upgrades_total{path=\"socket\"}"], Is.EqualTo(1));
        Assert.That(scraped["relay_gateway_upgrades_total{path=\"connection\"}"], Is.Zero);
        await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
        Assert.That(ws.CloseStatus, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task SocketSessionsOff_PlainSessionsAreKestrelConnections(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.SocketSessions = false);
        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync("connection path"u8.ToArray(), WebSocketMessageType.Text, true, token);
        Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("connection path"));
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        Assert.That((metrics.SocketUpgrades, metrics.FastUpgrades, metrics.HttpUpgrades), Is.EqualTo((0L, 1L, 0L)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task FastUpgradeOff_SessionsGoThroughAspNetCore(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync(o => o.FastUpgrade = false);
        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync("slow path"u8.ToArray(), WebSocketMessageType.Text, true, token);
        Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("slow path"));
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        Assert.That((metrics.FastUpgrades, metrics.HttpUpgrades), Is.EqualTo((0L, 1L)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RawSocket_HeadInPieces_ThenAFrameRightBehindIt_IsEchoed(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var tcp = await ConnectRawAsync(gw, token);
        var net = tcp.GetStream();
        string head = Head("/ws?access_token=" + GatewayFixture.Token());
        int half = head.IndexOf("Upgrade:", StringComparison.Ordinal) + 3;
        await net.WriteAsync(Encoding.ASCII.GetBytes(head[..half]), token);
        await Task.Delay(200, token);
        // The rest of the head and a masked text frame ("hi") in one write: the frame must not be lost.
        byte[] frame = [0x81, 0x82, 1, 2, 3, 4, (byte)('h' ^ 1), (byte)('i' ^ 2)];
        await net.WriteAsync((byte[])[.. Encoding.ASCII.GetBytes(head[half..]), .. frame], token);

        string response = await ReadHeadAsync(net, token);
        Assert.That(response, Does.StartWith("HTTP/1.1 101 Switching Protocols\r\n"));
        Assert.That(response, Does.Contain("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        var echo = new byte[4];
        await net.ReadExactlyAsync(echo, token);
        Assert.That(echo, Is.EqualTo(new byte[] { 0x81, 2, (byte)'h', (byte)'i' }), "an unmasked server text frame \"hi\"");
        var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
        Assert.That((metrics.SocketUpgrades, metrics.FastUpgrades), Is.EqualTo((0L, 1L)), "a head in pieces is handed to Kestrel, whose connection fast path takes it");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RawSocket_HeadAndAFrameInOneWrite_IsASocketSession_AndTheFrameIsNotLost(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var tcp = await ConnectRawAsync(gw, token);
        var net = tcp.GetStream();
        byte[] frame = [0x81, 0x82, 1, 2, 3, 4, (byte)('h' ^ 1), (byte)('i' ^ 2)];
        await net.WriteAsync((byte[])[.. Encoding.ASCII.GetBytes(Head("/ws?access_token=" + GatewayFixture.Token())), .. frame], token);

        string response = await ReadHeadAsync(net, token);
        Assert.That(response, Does.StartWith("HTTP/1.1 101 Switching Protocols\r\n"));
        var echo = new byte[4];
        await net.ReadExactlyAsync(echo, token);
        Assert.That(echo, Is.EqualTo(new byte[] { 0x81, 2, (byte)'h', (byte)'i' }));
        Assert.That(gw.App.Services.GetRequiredService<GatewayMetrics>().SocketUpgrades, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RawSocket_BadToken_Gets401WithTheReason_AndNoSession(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using var tcp = await ConnectRawAsync(gw, token);
        var net = tcp.GetStream();
        await net.WriteAsync(Encoding.ASCII.GetBytes(Head("/ws?access_token=not-a-jwt")), token);
        string response = await new StreamReader(net).ReadToEndAsync(token);
        Assert.That(response, Does.StartWith("HTTP/1.1 401 Unauthorized\r\n"));
        Assert.That(response, Does.Contain("Connection: close\r\n"));
        Assert.That(gw.App.Services.GetRequiredService<GatewayMetrics>().Sessions, Is.Zero);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task RawSocket_MalformedUpgrade_IsAnsweredByKestrel_AndOtherRequestsStillWork(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        using (var tcp = await ConnectRawAsync(gw, token))
        {
            var net = tcp.GetStream();
            // No Sec-WebSocket-Key: not the fast path's; ASP.NET Core's websocket middleware does not see an upgrade either.
            await net.WriteAsync(Encoding.ASCII.GetBytes(Head().Replace($"Sec-WebSocket-Key: {Key}\r\n", "")), token);
            string response = await ReadHeadAsync(net, token);
            Assert.That(response, Does.StartWith("HTTP/1.1 426"), "the /ws endpoint's answer to a request that is not a websocket upgrade");
        }

        using (var tcp = await ConnectRawAsync(gw, token))
        {
            var net = tcp.GetStream();
            await net.WriteAsync("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"u8.ToArray(), token);
            string response = await new StreamReader(net).ReadToEndAsync(token);
            Assert.That(response, Does.StartWith("HTTP/1.1 200"));
        }

        using (var tcp = await ConnectRawAsync(gw, token))
        {
            var net = tcp.GetStream();
            await net.WriteAsync("GET /ws HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n"u8.ToArray(), token);
            Assert.That(await ReadHeadAsync(net, token), Does.StartWith("HTTP/1.1 400"), "Kestrel's parser rejects the malformed header");
        }
    }

    private static async Task<TcpClient> ConnectRawAsync(GatewayFixture gw, CancellationToken token)
    {
        var uri = new Uri(gw.HttpUrl);
        var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, uri.Port, token);
        return tcp;
    }

    private static async Task<string> ReadHeadAsync(NetworkStream net, CancellationToken token)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await net.ReadAsync(one, token) == 0)
            {
                break;
            }

            bytes.Add(one[0]);
        }

        return Encoding.ASCII.GetString(bytes.ToArray());
    }
}
