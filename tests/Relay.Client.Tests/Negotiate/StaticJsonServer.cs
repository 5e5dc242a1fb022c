using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Relay.Client.Tests.Negotiate;

/// <summary>A real HTTP listener on loopback that answers every request with one JSON document (a negotiate answer the test writes).</summary>
internal sealed class StaticJsonServer : IDisposable
{
    private const int MaxHeadBytes = 16 * 1024;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly byte[] _response;

    private StaticJsonServer(string json)
    {
        var body = Encoding.UTF8.GetBytes(json);
        _response = [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), .. body];
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
    }

    public Uri Url => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/v1/negotiate");

    /// <summary>Requests answered.</summary>
    public int Requests;

    public static StaticJsonServer Start(string json) => new(json);

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => AnswerAsync(client));
        }
    }

    private async Task AnswerAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = new byte[MaxHeadBytes];
                int length = 0;
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                while (length < head.Length && !Encoding.ASCII.GetString(head, 0, length).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    int read = await stream.ReadAsync(head.AsMemory(length), timeout.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    length += read;
                }

                Interlocked.Increment(ref Requests);
                await stream.WriteAsync(_response, timeout.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
