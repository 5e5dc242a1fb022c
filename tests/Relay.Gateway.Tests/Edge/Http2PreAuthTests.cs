using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Relay.Gateway.Edge;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Tests.Edge;

/// <summary>
/// An HTTP/2 connection whose websocket streams have ended is a pre-auth connection again (<c>PreAuthSlot.SessionEnded</c>),
/// under the per-address cap and eviction. Until stop 42 it left the pre-auth table for good at its first upgrade: a
/// client with any valid token (a chat visitor's) opened a connection, ran one websocket stream and reset it, then kept
/// the connection with one cheap request (<c>GET /healthz</c>) before each keep-alive timeout (about 15 bytes a second);
/// such a connection was neither a session nor pre-auth, and one address could hold connections up to the gate's limit
/// (the open-file limit minus 512), after which every new client was refused (found by a security review).
/// </summary>
[NonParallelizable]
public class Http2PreAuthTests
{
    private const byte Data = 0, Headers = 1, RstStream = 3, Settings = 4, Ping = 6, GoAway = 7;
    private const byte EndStream = 1, EndHeaders = 4, Ack = 1;

    [Test]
    [CancelAfter(90_000)]
    public Task OneAddress_WithoutASession_HoldsAtMostItsPreAuthConnections([Values] bool afterOneWebsocketStream, CancellationToken token) => TlsTests.WithTlsGatewayAsync(
        async (gw, _) =>
        {
            var gate = gw.App.Services.GetRequiredService<ConnectionGate>();
            var metrics = gw.App.Services.GetRequiredService<GatewayMetrics>();
            int port = new Uri(gw.WssUrl!).Port;
            var source = IPAddress.Parse("127.0.7.7");
            var held = new List<(Socket Socket, SslStream Tls)>();
            try
            {
                for (int i = 0; i < 6; i++)
                {
                    try
                    {
                        held.Add(await OpenConnectionAsync(source, port, afterOneWebsocketStream ? GatewayFixture.Token($"visitor-{i}") : null, token));
                    }
                    catch (Exception e) when (e is IOException or SocketException or EndOfStreamException or System.Security.Authentication.AuthenticationException)
                    {
                        // reset at accept: the address's pre-auth cap (the control case)
                    }
                }

                // Ten times the head deadline and Kestrel's keep-alive timeout (both RequestHeadTimeout, 1 s here), each
                // connection sending one GET /healthz every half second.
                uint next = 5;
                for (int round = 0; round < 20; round++, next += 2)
                {
                    foreach (var (_, tls) in held)
                    {
                        try
                        {
                            await GetHealthzAsync(tls, next, token);
                        }
                        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException)
                        {
                            // closed by the relay: counted as not alive below
                        }
                    }

                    await Task.Delay(500, token);
                }

                int alive = 0;
                foreach (var (_, tls) in held)
                {
                    alive += await AnswersPingAsync(tls, token) ? 1 : 0;
                }

                TestContext.Out.WriteLine($"alive {alive}, sessions {metrics.Sessions}, gate open {gate.Open}, pre-auth {gate.PreAuth}");
                Assert.That(metrics.Sessions, Is.Zero, "no session is open");
                Assert.That(alive, Is.LessThanOrEqualTo(gate.MaxPreAuthConnectionsPerIp), "connections one address holds without a session");
            }
            finally
            {
                foreach (var (socket, tls) in held)
                {
                    tls.Dispose();
                    socket.Dispose();
                }
            }
        },
        o =>
        {
            o.MaxPreAuthConnectionsPerIp = 2;
            o.RequestHeadTimeout = TimeSpan.FromSeconds(1);
        });

    /// <summary>TLS + h2; with a token, a websocket stream that is accepted then reset; then a GET /healthz.</summary>
    private static async Task<(Socket, SslStream)> OpenConnectionAsync(IPAddress source, int port, string? token, CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
        var tls = new SslStream(new NetworkStream(socket, ownsSocket: false), false, (_, _, _, _) => true);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost", ApplicationProtocols = [SslApplicationProtocol.Http2] }, ct);
        Assert.That(tls.NegotiatedApplicationProtocol, Is.EqualTo(SslApplicationProtocol.Http2));

        await tls.WriteAsync((byte[])[.. "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8, .. Frame(Settings, 0, 0, [])], ct);
        await ReadUntilAsync(tls, (type, flags, _, _) => type == Settings && (flags & Ack) == 0, ct);
        await tls.WriteAsync(Frame(Settings, Ack, 0, []), ct);

        if (token is null)
        {
            await GetHealthzAsync(tls, 3, ct);
            return (socket, tls);
        }

        // Stream 1: an RFC 8441 websocket (extended CONNECT) with a valid token; the 200 HEADERS, then a reset.
        var connect = new List<byte>();
        Field(connect, ":method", "CONNECT");
        Field(connect, ":protocol", "websocket");
        Field(connect, ":scheme", "https");
        Field(connect, ":authority", "localhost");
        Field(connect, ":path", "/ws?access_token=" + token);
        Field(connect, "sec-websocket-version", "13");
        await tls.WriteAsync(Frame(Headers, EndHeaders, 1, [.. connect]), ct);
        var response = await ReadUntilAsync(tls, (type, _, stream, _) => type == Headers && stream == 1, ct);
        Assert.That(response[0], Is.EqualTo(0x88), ":status 200 (HPACK static index 8): the websocket was accepted");
        await tls.WriteAsync(Frame(RstStream, 0, 1, [0, 0, 0, 8]), ct); // CANCEL

        await GetHealthzAsync(tls, 3, ct);
        return (socket, tls);
    }

    /// <summary>GET /healthz on <paramref name="stream"/>, read to the end of its response.</summary>
    private static async Task GetHealthzAsync(SslStream tls, uint stream, CancellationToken ct)
    {
        var get = new List<byte>();
        Field(get, ":method", "GET");
        Field(get, ":scheme", "https");
        Field(get, ":authority", "localhost");
        Field(get, ":path", "/healthz");
        await tls.WriteAsync(Frame(Headers, EndHeaders | EndStream, stream, [.. get]), ct);
        await ReadUntilAsync(tls, (type, flags, id, _) => id == stream && type is Headers or Data && (flags & EndStream) != 0, ct);
    }

    private static async Task<bool> AnswersPingAsync(SslStream tls, CancellationToken ct)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(ct);
        window.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            await tls.WriteAsync(Frame(Ping, 0, 0, [1, 2, 3, 4, 5, 6, 7, 8]), window.Token);
            await ReadUntilAsync(tls, (type, flags, _, _) => type == Ping && (flags & Ack) != 0, window.Token);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or EndOfStreamException or ObjectDisposedException or AssertionException)
        {
            return false;
        }
    }

    /// <summary>Reads frames (at most 50) until one matches; its payload. A GOAWAY or the end is a closed connection.</summary>
    private static async Task<byte[]> ReadUntilAsync(SslStream tls, Func<byte, byte, uint, byte[], bool> match, CancellationToken ct)
    {
        var header = new byte[9];
        for (int i = 0; i < 50; i++)
        {
            await tls.ReadExactlyAsync(header, ct);
            int length = (header[0] << 16) | (header[1] << 8) | header[2];
            uint stream = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7FFF_FFFF;
            var payload = new byte[length];
            await tls.ReadExactlyAsync(payload, ct);
            if (header[3] == GoAway)
            {
                throw new EndOfStreamException("GOAWAY");
            }

            if (match(header[3], header[4], stream, payload))
            {
                return payload;
            }
        }

        throw new AssertionException("no matching frame in 50");
    }

    private static byte[] Frame(byte type, byte flags, uint stream, byte[] payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), stream);
        payload.CopyTo(frame, 9);
        return frame;
    }

    /// <summary>An HPACK literal header field without indexing, new name, no Huffman coding.</summary>
    private static void Field(List<byte> block, string name, string value)
    {
        block.Add(0);
        Integer(block, name.Length);
        block.AddRange(Encoding.ASCII.GetBytes(name));
        Integer(block, value.Length);
        block.AddRange(Encoding.ASCII.GetBytes(value));
    }

    private static void Integer(List<byte> block, int value)
    {
        if (value < 127)
        {
            block.Add((byte)value);
            return;
        }

        block.Add(127);
        value -= 127;
        while (value >= 128)
        {
            block.Add((byte)((value % 128) + 128));
            value /= 128;
        }

        block.Add((byte)value);
    }
}
