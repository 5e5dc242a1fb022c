using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace Relay.Gateway.Tests.Security;

/// <summary>
/// A connection that keeps asking for sessions it is refused (a forged token on every request) is closed after a few
/// refusals, and what it sends meanwhile is refused without checking its token. Found by a review: over HTTP/2 one
/// connection could send CONNECT after CONNECT, each a few bytes for the client and an ES256 signature check for the
/// relay, for as long as it liked, and Under Attack mode's limits sit behind the token check.
/// </summary>
public class RefusedUpgradesTests
{
    private static string Forged => GatewayFixture.Token(key: System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256));

    [Test]
    [CancelAfter(60_000)]
    public Task Http2_ForgedTokenAfterForgedToken_TheConnectionIsClosed_AndNoMoreTokensAreChecked(CancellationToken token) => TlsTests.WithTlsGatewayAsync(async (gw, _) =>
    {
        int connections = 0;
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                Interlocked.Increment(ref connections);
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=localhost";
        using var invoker = new HttpMessageInvoker(handler);

        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 12; i++)
        {
            using var ws = new ClientWebSocket();
            ws.Options.HttpVersion = HttpVersion.Version20;
            ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            ws.Options.CollectHttpResponseDetails = true;
            Assert.ThrowsAsync<WebSocketException>(() => ws.ConnectAsync(new Uri($"{gw.WssUrl}?access_token={Forged}"), invoker, token));
            statuses.Add(ws.HttpStatusCode);
        }

        int verified = statuses.Count(s => s == HttpStatusCode.Unauthorized);
        Assert.That(statuses, Is.All.AnyOf(HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests), string.Join(", ", statuses));
        Assert.That(connections, Is.GreaterThan(1), "the relay closed the connection that kept being refused");
        Assert.That(verified, Is.LessThanOrEqualTo(4 * connections), $"at most 4 tokens checked per connection: {string.Join(", ", statuses)} over {connections} connections");
    }, o => o.SocketSessions = true);

    [Test]
    [CancelAfter(60_000)]
    public async Task Http11KeepAlive_ForgedTokenAfterForgedToken_TheConnectionIsClosedAfterTheFourth(CancellationToken token)
    {
        // Without the connection fast path, an HTTP/1.1 upgrade is an ASP.NET Core request, and a refusal keeps the
        // connection alive for the next request.
        await using var gw = await GatewayFixture.StartAsync(o => o.FastUpgrade = false);
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, new Uri(gw.HttpUrl).Port, token);
        var responses = new List<string>();
        var buffer = new byte[4096];
        for (int i = 0; i < 6; i++)
        {
            byte[] head = Encoding.ASCII.GetBytes(
                $"GET /ws?access_token={Forged} HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
            try
            {
                await socket.SendAsync(head, SocketFlags.None, token);
            }
            catch (SocketException)
            {
                break; // closed by the relay
            }

            string? response = await ReadResponseAsync(socket, token);
            if (response is null)
            {
                break; // closed by the relay
            }

            responses.Add(response);
        }

        Assert.That(responses, Has.Count.EqualTo(4), string.Join("\n---\n", responses));
        Assert.That(responses, Has.All.StartWith("HTTP/1.1 401"));
        Assert.That(responses[3], Does.Contain("Connection: close").IgnoreCase, "the fourth refusal says the connection ends");
    }

    /// <summary>One whole HTTP/1.1 response (head and body, by Content-Length or chunked), or null at the end of the stream.</summary>
    private static async Task<string?> ReadResponseAsync(Socket socket, CancellationToken token)
    {
        var text = new StringBuilder();
        var one = new byte[1];
        while (!Complete(text.ToString()))
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(one, SocketFlags.None, token);
            }
            catch (SocketException)
            {
                n = 0;
            }

            if (n == 0)
            {
                return null;
            }

            text.Append((char)one[0]);
        }

        return text.ToString();

        static bool Complete(string r)
        {
            int headEnd = r.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (headEnd < 0)
            {
                return false;
            }

            string head = r[..headEnd];
            var length = System.Text.RegularExpressions.Regex.Match(head, @"(?im)^content-length:\s*(\d+)");
            if (length.Success)
            {
                return r.Length - (headEnd + 4) >= int.Parse(length.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            return !head.Contains("chunked", StringComparison.OrdinalIgnoreCase) || r.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal);
        }
    }
}
