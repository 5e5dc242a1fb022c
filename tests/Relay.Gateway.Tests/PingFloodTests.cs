using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Tests;

/// <summary>
/// A session's pongs are paced like its messages (Gateway:MessagesPerSecond, burst MessageBurst): the websocket answered
/// every ping itself, below the message rate, a send each (a review: 20,000 six-byte pings in one write, 20,000 pongs in
/// 43 ms). On a stopped clock the burst is all a flood gets; the session goes on.
/// </summary>
[Parallelizable(ParallelScope.None)]
public class PingFloodTests
{
    private const int Burst = 8;
    private const int Pings = 500;

    public enum Path
    {
        /// <summary>The relay's own socket (the default on the plain listener).</summary>
        OwnSocket,

        /// <summary>The relay's own socket over TLS (the default on the wss listener): the pongs are paced above TLS.</summary>
        OwnTlsSocket,

        /// <summary>Kestrel's connection, the head whole in one read (the fast path).</summary>
        KestrelFastPath,

        /// <summary>Kestrel's connection, a head the fast path leaves to Kestrel (an <c>Expect</c> header): ASP.NET Core's
        /// endpoint accepts it.</summary>
        KestrelEndpoint,

        /// <summary>With <c>Gateway:EnableCompression</c>, a client offering permessage-deflate: ASP.NET Core's own accept
        /// negotiates the extension (its pongs went unpaced until stop 40).</summary>
        KestrelEndpointDeflate,
    }

    [TestCase(Path.OwnSocket)]
    [TestCase(Path.OwnTlsSocket)]
    [TestCase(Path.KestrelFastPath)]
    [TestCase(Path.KestrelEndpoint)]
    [TestCase(Path.KestrelEndpointDeflate)]
    [CancelAfter(60_000)]
    public async Task PingFlood_GetsTheBurstOfPongs_NotOneEach_AndTheSessionGoesOn(Path path, CancellationToken token)
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var clock = new SessionTests.RunningClock(time); // the gateway's own timers need it to start
        void Configure(Configuration.GatewayOptions o)
        {
            o.MessagesPerSecond = 1;
            o.MessageBurst = Burst;
            o.SocketSessions = path is Path.OwnSocket or Path.OwnTlsSocket;
            o.EnableCompression = path == Path.KestrelEndpointDeflate;
        }

        if (path == Path.OwnTlsSocket)
        {
            await TlsTests.WithTlsGatewayAsync(async (gw, _) =>
            {
                using var tcp = new TcpClient { NoDelay = true };
                await tcp.ConnectAsync(IPAddress.Loopback, new Uri(gw.WssUrl!).Port, token);
                await using var tls = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http11] }, token);
                await FloodAsync(gw, tls, clock, path, token);
            }, Configure, time);
            return;
        }

        await using var gw = await GatewayFixture.StartAsync(Configure, time: time);
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, new Uri(gw.HttpUrl).Port, token);
        await FloodAsync(gw, tcp.GetStream(), clock, path, token);
    }

    /// <summary>Upgrades, stops the clock (no token comes back: the burst is all there is), sends the pings and a close,
    /// and counts the pongs before the relay's close.</summary>
    private static async Task FloodAsync(GatewayFixture gw, Stream net, SessionTests.RunningClock clock, Path path, CancellationToken token)
    {
        string head = System.Text.Encoding.ASCII.GetString(SocketSessionTests.UpgradeHead());
        if (path == Path.KestrelEndpoint)
        {
            head = head.Replace("Host: a\r\n", "Host: a\r\nExpect: 100-continue\r\n", StringComparison.Ordinal);
        }
        else if (path == Path.KestrelEndpointDeflate)
        {
            head = head.Replace("Host: a\r\n", "Host: a\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n", StringComparison.Ordinal);
        }

        await net.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head), token);
        string answer = await ReadHeadAsync(net, token);
        if (path == Path.KestrelEndpointDeflate)
        {
            Assert.That(answer, Does.Contain("permessage-deflate"), "the extension was negotiated (control frames stay uncompressed)");
        }

        await clock.StopAsync();
        try
        {
            // Every ping (masked, empty), then a close: the relay answers the pings in order, then the close.
            var wire = new MemoryStream();
            for (int i = 0; i < Pings; i++)
            {
                wire.Write([0x89, 0x80, 1, 2, 3, 4]);
            }

            wire.Write([0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xE8 ^ 2]); // close 1000
            await net.WriteAsync(wire.ToArray(), token);
            int pongs = await CountPongsUntilCloseAsync(net, token);

            var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
            Assert.Multiple(() =>
            {
                Assert.That(pongs, Is.EqualTo(Burst), $"pongs for {Pings} pings");
                long took = path switch { Path.OwnSocket or Path.OwnTlsSocket => metrics.SocketUpgrades, Path.KestrelFastPath => metrics.FastUpgrades, _ => metrics.HttpUpgrades };
                Assert.That(took, Is.EqualTo(1), $"the session took the {path} path");
            });
        }
        finally
        {
            clock.Start();
        }
    }

    private static async Task<string> ReadHeadAsync(Stream net, CancellationToken token)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (head.Count < 4 || head[^1] != '\n' || head[^3] != '\n')
        {
            await net.ReadExactlyAsync(one, token);
            head.Add(one[0]);
        }

        string text = System.Text.Encoding.ASCII.GetString([.. head]);
        Assert.That(text, Does.StartWith("HTTP/1.1 101"));
        return text;
    }

    /// <summary>Reads server frames (unmasked, short) until the close frame, counting the pongs.</summary>
    private static async Task<int> CountPongsUntilCloseAsync(Stream net, CancellationToken token)
    {
        int pongs = 0;
        var header = new byte[2];
        while (true)
        {
            await net.ReadExactlyAsync(header, token);
            int length = header[1] & 0x7F;
            if (length >= 126)
            {
                var extended = new byte[length == 126 ? 2 : 8];
                await net.ReadExactlyAsync(extended, token);
                length = length == 126 ? (extended[0] << 8) | extended[1] : (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(extended);
            }

            await net.ReadExactlyAsync(new byte[length], token);
            int opcode = header[0] & 0x0F;
            if (opcode == 0xA)
            {
                pongs++;
            }
            else if (opcode == 0x8)
            {
                return pongs;
            }
        }
    }
}
