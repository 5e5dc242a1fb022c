using System.Net;
using System.Net.Sockets;

namespace Relay.CoreSim.Tests.Http;

/// <summary>
/// core-sim's HTTP listener caps the connections that are not websocket sessions (<c>CoreSim:MaxConnections</c>). A
/// review found none: anonymous idle connections (held 130 s each by Kestrel's keep-alive) could use up core-sim's
/// open files, and then the backhaul could accept no relay's link.
/// </summary>
public class ConnectionCapTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task IdleConnectionsBeyondTheCap_AreClosed_AndOnesWithinItStillServe(CancellationToken token)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxConnections = 4);
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < 4; i++)
            {
                idle.Add(await ConnectAsync(host.HttpPort, token));
            }

            // Beyond the cap Kestrel closes a new connection at once: the client reads the end of the stream.
            using (var beyond = await ConnectAsync(host.HttpPort, token))
            {
                var buffer = new byte[16];
                int read;
                try
                {
                    read = await beyond.ReceiveAsync(buffer, SocketFlags.None, token);
                }
                catch (SocketException)
                {
                    read = 0; // reset: closed just the same
                }

                Assert.That(read, Is.Zero, "the fifth connection is closed");
            }

            // A connection within the cap is served.
            await idle[0].SendAsync("GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"u8.ToArray(), SocketFlags.None, token);
            var answer = new byte[256];
            int n = await idle[0].ReceiveAsync(answer, SocketFlags.None, token);
            Assert.That(System.Text.Encoding.ASCII.GetString(answer, 0, n), Does.StartWith("HTTP/1.1 200"));
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task WebsocketSessions_AreNotCounted(CancellationToken token)
    {
        await using var host = await CoreSimFixture.StartAsync(o => o.MaxConnections = 2);
        var sessions = new List<System.Net.WebSockets.ClientWebSocket>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var ws = new System.Net.WebSockets.ClientWebSocket();
                sessions.Add(ws);
                await ws.ConnectAsync(CoreSimFixture.WsUri(host, CoreSimFixture.Token(host, $"cap-{i}")), token);
            }

            using var http = new HttpClient { BaseAddress = host.HttpUri };
            using var response = await http.GetAsync("/healthz", token);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "three sessions open, and the two connections of the cap still free");
        }
        finally
        {
            foreach (var ws in sessions)
            {
                ws.Dispose();
            }
        }
    }

    private static async Task<Socket> ConnectAsync(int port, CancellationToken token)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, port, token);
        return socket;
    }
}
