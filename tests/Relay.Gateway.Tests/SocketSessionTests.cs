using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Relay.Gateway.Edge;
using Relay.Gateway.Metrics;
using Relay.Gateway.Upgrade;

namespace Relay.Gateway.Tests;

/// <summary>
/// Issue 21: sessions on the plain listener run on their own sockets (<see cref="SocketUpgrade"/>), not Kestrel
/// connections. What a client and an operator see: the same sessions, the gate's count given back when they end, the
/// kernel's keepalive on the session's socket instead of websocket pings.
/// </summary>
public class SocketSessionTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task SocketSessions_HoldTheirPlaceAtTheGate_AndGiveItBackWhenTheyEnd_RefusalsToo(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
        var sockets = new List<ClientWebSocket>();
        for (int i = 0; i < 3; i++)
        {
            var ws = await gw.ConnectAsync(ct: token);
            await ws.SendAsync(Encoding.UTF8.GetBytes($"m{i}"), WebSocketMessageType.Text, true, token);
            Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo($"m{i}"));
            sockets.Add(ws);
        }

        Assert.That(gw.App.Services.GetRequiredService<GatewayMetrics>().SocketUpgrades, Is.EqualTo(3));
        Assert.That(gate.Open, Is.EqualTo(3), "each socket session counts as an open connection");
        using (var http = new HttpClient())
        {
            var scraped = await PrometheusScrape.GetAsync(http, gw.HttpUrl, token);
            Assert.That(scraped["relay_gateway_connections"], Is.EqualTo(4), "the three sessions and the scrape's own connection");
            Assert.That(scraped["relay_gateway_pre_auth_connections"], Is.EqualTo(1), "the scrape's connection: not a session");
        }

        foreach (var ws in sockets)
        {
            await ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", token);
            ws.Dispose();
        }

        // A refused upgrade (bad token) on its own socket gives its place back too.
        using (var refused = new ClientWebSocket())
        {
            Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(new Uri(gw.WsUrl + "?access_token=not-a-jwt"), token));
        }

        while (gate.Open != 0 || gw.App.Services.GetRequiredService<GatewayMetrics>().Sessions != 0)
        {
            await Task.Delay(20, token); // the sessions end a moment after their close handshakes
        }

        Assert.That((gate.Open, gate.PreAuth), Is.EqualTo((0, 0)));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ConnectionsThatVanishAtEveryStepOfTheUpgrade_LeaveNothingCounted_AndSessionsStillWork(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
        int port = new Uri(gw.HttpUrl).Port;
        byte[] head = UpgradeHead();
        byte[] frame = HiFrame;
        for (int i = 0; i < 40; i++) // bounded: 40 connections, 8 ways of going away
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, port, token);
            switch (i % 8)
            {
                case 0: break; // nothing sent
                case 1: await s.SendAsync(head.AsMemory(0, 20), token); break; // half a head
                case 2: await s.SendAsync(head, token); break; // a head, then gone before the 101
                case 3: await s.SendAsync((byte[])[.. head, .. frame], token); break; // a head and a frame
                case 4: await s.SendAsync("\x16\x03\x01garbage"u8.ToArray(), token); break; // not HTTP
                case 5: await s.SendAsync((byte[])[.. head, .. frame], token); await ReadSomeAsync(s, token); break; // a session, then gone
                case 6: await s.SendAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"), token); await ReadSomeAsync(s, token); break;
                case 7: await s.SendAsync(head, token); await ReadSomeAsync(s, token); s.Shutdown(SocketShutdown.Send); break;
            }

            if (i % 2 == 0)
            {
                s.LingerState = new LingerOption(true, 0); // a reset instead of a FIN
            }
        }

        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync("still here"u8.ToArray(), WebSocketMessageType.Text, true, token);
        Assert.That(Encoding.UTF8.GetString((await GatewayFixture.ReceiveAsync(ws, token)).Data), Is.EqualTo("still here"));
        while (gate.Open != 1 || gate.PreAuth != 0)
        {
            await Task.Delay(20, token); // the vanished connections' sessions end a moment after their sockets do
        }

        Assert.That((gate.Open, gate.PreAuth, gw.App.Services.GetRequiredService<GatewayMetrics>().Sessions), Is.EqualTo((1, 0, 1L)), "only the live session is counted");

        // Every socket the gateway accepted from the clients that went is closed: none stays in CLOSE_WAIT (their FIN
        // read, the gateway's never sent; a leaked socket stays there until the test's time runs out).
        while (ServerSideStates(port).Contains(0x08))
        {
            await Task.Delay(20, token);
        }

        Assert.That(ServerSideStates(port), Does.Not.Contain(0x08));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FramesSplitAtEveryBoundary_SmallAroundTheReceiveBufferAndLarge_AreEchoedExactly(CancellationToken token)
    {
        // The socket session's stream serves the websocket's header and payload reads from one pooled 4 KiB receive,
        // and reads large payloads straight in: frames written in random pieces must come back byte for byte.
        await using var gw = await GatewayFixture.StartAsync(o => { o.MessagesPerSecond = 100_000; o.MessageBurst = 100_000; });
        using var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, new Uri(gw.HttpUrl).Port, token);
        var net = tcp.GetStream();
        await net.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /ws?access_token={GatewayFixture.Token()} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"), token);
        var head = new List<byte>();
        while (head.Count < 4 || head[^1] != '\n' || head[^3] != '\n')
        {
            var one = new byte[1];
            await net.ReadExactlyAsync(one, token);
            head.Add(one[0]);
        }

        Assert.That(Encoding.ASCII.GetString([.. head]), Does.StartWith("HTTP/1.1 101"));

        var random = new Random(21);
        var payloads = new List<byte[]>();
        var wire = new MemoryStream();
        for (int i = 0; i < 120; i++) // bounded: 120 messages, about 2 MB
        {
            int size = (i % 3) switch { 0 => random.Next(1, 200), 1 => random.Next(4_080, 4_110), _ => random.Next(10_000, 60_000) };
            var payload = new byte[size];
            random.NextBytes(payload);
            payloads.Add(payload);
            WriteMaskedFrame(wire, payload, random);
        }

        using var reader = WebSocket.CreateFromStream(net, new WebSocketCreationOptions { IsServer = false, KeepAliveInterval = TimeSpan.Zero });
        var echoes = Task.Run(async () =>
        {
            var received = new List<byte[]>();
            var buffer = new byte[64 * 1024];
            while (received.Count < payloads.Count)
            {
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    result = await reader.ReceiveAsync(buffer.AsMemory(length), token);
                    length += result.Count;
                }
                while (!result.EndOfMessage);
                received.Add(buffer[..length]);
            }

            return received;
        }, token);

        var bytes = wire.ToArray();
        for (int offset = 0; offset < bytes.Length;)
        {
            int piece = Math.Min(random.Next(1, 3_000), bytes.Length - offset);
            await net.WriteAsync(bytes.AsMemory(offset, piece), token);
            offset += piece;
            if (random.Next(8) == 0)
            {
                await Task.Yield();
            }
        }

        var got = await echoes;
        Assert.That(got, Has.Count.EqualTo(payloads.Count));
        for (int i = 0; i < payloads.Count; i++)
        {
            Assert.That(got[i], Is.EqualTo(payloads[i]), $"message {i} ({payloads[i].Length} B)");
        }

        // Read after the echoes, not at the 101: the session is counted just after its 101 goes out (a CI run read 0).
        Assert.That(gw.App.Services.GetRequiredService<GatewayMetrics>().SocketUpgrades, Is.EqualTo(1), "a socket session");
    }

    private static void WriteMaskedFrame(Stream wire, byte[] payload, Random random)
    {
        wire.WriteByte(0x82); // FIN, binary
        if (payload.Length < 126)
        {
            wire.WriteByte((byte)(0x80 | payload.Length));
        }
        else
        {
            wire.WriteByte(0x80 | 126);
            wire.WriteByte((byte)(payload.Length >> 8));
            wire.WriteByte((byte)payload.Length);
        }

        var mask = new byte[4];
        random.NextBytes(mask);
        wire.Write(mask);
        for (int i = 0; i < payload.Length; i++)
        {
            wire.WriteByte((byte)(payload[i] ^ mask[i % 4]));
        }
    }

    /// <summary>A complete websocket upgrade request head for the session path, with a valid token.</summary>
    internal static byte[] UpgradeHead() => Encoding.ASCII.GetBytes(
        $"GET /ws?access_token={GatewayFixture.Token()} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

    /// <summary>A masked client text frame, "hi".</summary>
    internal static byte[] HiFrame => [0x81, 0x82, 1, 2, 3, 4, (byte)('h' ^ 1), (byte)('i' ^ 2)];

    internal static async Task ReadSomeAsync(Socket s, CancellationToken token)
    {
        var buffer = new byte[256];
        await s.ReceiveAsync(buffer, token);
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task ASocketSession_HasTheKernelsKeepaliveRunning_AKestrelConnectionDoesNot(CancellationToken token)
    {
        await using var gw = await GatewayFixture.StartAsync();
        int port = new Uri(gw.HttpUrl).Port;
        using var ws = await gw.ConnectAsync(ct: token);
        await ws.SendAsync("hi"u8.ToArray(), WebSocketMessageType.Text, true, token);
        await GatewayFixture.ReceiveAsync(ws, token);

        // A plain HTTP/1.1 keep-alive connection on the same listener is Kestrel's: no keepalive timer.
        using var http = new TcpClient();
        await http.ConnectAsync(IPAddress.Loopback, port, token);
        var net = http.GetStream();
        await net.WriteAsync("GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray(), token);
        var answer = new byte[12];
        await net.ReadExactlyAsync(answer, token);
        Assert.That(Encoding.ASCII.GetString(answer), Is.EqualTo("HTTP/1.1 200"));

        // /proc/net/tcp: the "tr" column is 2 while a socket's keepalive timer runs (0: no timer on an idle socket; 1
        // while data waits for the client's acknowledgement, which hides the keepalive timer until the ACK).
        var timers = ServerSideTimers(port);
        for (int i = 0; i < 100 && timers.Contains(1); i++)
        {
            await Task.Delay(50, token);
            timers = ServerSideTimers(port);
        }

        Assert.That(timers, Has.Count.EqualTo(2), "the gateway's two accepted connections: " + string.Join(", ", timers));
        Assert.That(timers.Count(t => t == 2), Is.EqualTo(1), "exactly one, the websocket session, has the kernel's keepalive timer: " + string.Join(", ", timers));
    }

    [Test]
    public void Liveness_FromTheKeepAliveOptions_IsWhatTheSocketGets()
    {
        Assert.That(SocketLiveness.Timing(TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30)), Is.EqualTo((15, 10, 3)));
        Assert.That(SocketLiveness.Timing(TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(100)), Is.EqualTo((1, 1, 3)), "at least a second each");

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(listener.LocalEndPoint!);
        using var accepted = listener.Accept();
        SocketLiveness.Apply(accepted, TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(accepted.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive), Is.Not.EqualTo(0));
            Assert.That(accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime), Is.EqualTo(15));
            Assert.That(accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval), Is.EqualTo(10));
            Assert.That(accepted.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount), Is.EqualTo(3));
            if (OperatingSystem.IsLinux())
            {
                var userTimeout = new byte[4];
                accepted.GetRawSocketOption(6, 18, userTimeout); // IPPROTO_TCP, TCP_USER_TIMEOUT
                Assert.That(BitConverter.ToInt32(userTimeout), Is.EqualTo(45_000), "unacknowledged data: interval + timeout");
            }
        });
    }

    /// <summary>The TCP state (01 established, 08 close-wait, …) of each IPv4 socket whose local port is <paramref name="port"/>, but the listener.</summary>
    internal static List<int> ServerSideStates(int port) =>
        File.ReadLines("/proc/net/tcp").Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => int.Parse(f[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port && f[3] != "0A")
            .Select(f => int.Parse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture))
            .ToList();

    /// <summary>The timer kind ("tr") of each established IPv4 socket whose local port is <paramref name="port"/>.</summary>
    private static List<int> ServerSideTimers(int port)
    {
        var timers = new List<int>();
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int localPort = int.Parse(fields[1].Split(':')[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (localPort == port && fields[3] == "01") // ESTABLISHED
            {
                timers.Add(int.Parse(fields[5].Split(':')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }

        return timers;
    }
}
