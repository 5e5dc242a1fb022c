using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Relay.Gateway.Tests.Edge;

/// <summary>Raw TCP clients from chosen loopback source addresses (127.x.y.z, bound before connect).</summary>
internal static class RawClient
{
    /// <summary>The n-th of many loopback source addresses: 127.(10 + n / 250).(n % 250 + 1).1 style spread.</summary>
    public static IPAddress Source(int n) => new([127, (byte)(10 + n / 250), (byte)(n % 250 + 1), 1]);

    public static int Port(string url) => new Uri(url).Port;

    /// <summary>A TCP connection from <paramref name="source"/>. A connection the gateway resets at accept may already
    /// be reset when the connect completes: the socket is returned all the same, and reads as closed.</summary>
    public static async Task<Socket> ConnectAsync(IPAddress source, int port, CancellationToken token)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(source, 0));
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), token);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
        }

        return socket;
    }

    /// <summary>
    /// Which of these sockets the gateway has closed (EOF or reset): each is read until <paramref name="wait"/> ends;
    /// a socket the gateway keeps open sends nothing and is counted as open.
    /// </summary>
    public static async Task<int> CountClosedAsync(IReadOnlyList<Socket> sockets, TimeSpan wait, CancellationToken token)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(token);
        window.CancelAfter(wait);
        var reads = sockets.Select(async s =>
        {
            var buffer = new byte[512];
            try
            {
                while (true)
                {
                    int n = await s.ReceiveAsync(buffer, SocketFlags.None, window.Token);
                    if (n == 0)
                    {
                        return true;
                    }
                }
            }
            catch (SocketException)
            {
                return true;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }).ToList();
        var closed = await Task.WhenAll(reads);
        return closed.Count(c => c);
    }

    /// <summary>Sends a request and reads the response head (up to the empty line), or "" when the connection closes first.</summary>
    public static async Task<string> RequestAsync(Socket socket, byte[] prefix, string request, CancellationToken token)
    {
        await socket.SendAsync((byte[])[.. prefix, .. Encoding.ASCII.GetBytes(request)], SocketFlags.None, token);
        var head = new StringBuilder();
        var one = new byte[1];
        try
        {
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
            {
                if (await socket.ReceiveAsync(one, SocketFlags.None, token) == 0)
                {
                    break;
                }

                head.Append((char)one[0]);
            }
        }
        catch (SocketException)
        {
        }

        return head.ToString();
    }

    public static string Upgrade(string token, string extra = "") =>
        $"GET /ws?access_token={token} HTTP/1.1\r\nHost: relay.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n";

    public static void DisposeAll(IEnumerable<Socket> sockets)
    {
        foreach (var s in sockets)
        {
            s.Dispose();
        }
    }
}
