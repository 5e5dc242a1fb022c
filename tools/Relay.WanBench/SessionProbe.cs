using System.Diagnostics;
using System.Net.Security;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Relay.WanBench;

/// <summary>One connect-phase sample, in ms from the start of the connect.</summary>
internal sealed record ConnectSample(double Open, double Welcome, double FirstEcho);

/// <summary>
/// A raw websocket session speaking the session protocol (PROTOCOL.md): hello → welcome, then msg → echoed msg.
/// A fresh SocketsHttpHandler per session, so every connect is a new TCP connection and a full TLS handshake;
/// the server certificate is accepted only when it is the one this run generated (pinned by thumbprint).
/// </summary>
internal sealed class SessionProbe : IAsyncDisposable
{
    private readonly ClientWebSocket _ws = new();
    private readonly HttpMessageInvoker _invoker;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private long _seq;

    private SessionProbe(X509Certificate2 pinned)
    {
        _ws.Options.HttpVersion = System.Net.HttpVersion.Version11;
        _ws.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        _ws.Options.KeepAliveInterval = TimeSpan.FromSeconds(30);
        string thumbprint = pinned.Thumbprint;
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && string.Equals(cert.GetCertHashString(), thumbprint, StringComparison.OrdinalIgnoreCase),
            },
        });
    }

    public WebSocket Socket => _ws;

    /// <summary>The highest core seq seen (acked with the next msg).</summary>
    public long LastServerSeq { get; private set; }

    /// <summary>Connects, says hello, waits for the welcome, sends one msg and waits for its echo.</summary>
    /// <param name="pipelined">Send the first msg right behind the hello instead of after the welcome.</param>
    public static async Task<(SessionProbe Probe, ConnectSample Sample)> ConnectAsync(Uri uri, X509Certificate2 pinned, CancellationToken token, bool pipelined = false)
    {
        var probe = new SessionProbe(pinned);
        try
        {
            long start = Stopwatch.GetTimestamp();
            await probe._ws.ConnectAsync(uri, probe._invoker, token);
            long open = Stopwatch.GetTimestamp();
            await probe.SendAsync("{\"type\":\"hello\"}", token);
            if (pipelined)
            {
                await probe.SendMsgAsync("\"first\"", token);
            }

            await probe.ReceiveUntilAsync("welcome", token);
            long welcome = Stopwatch.GetTimestamp();
            if (!pipelined)
            {
                await probe.SendMsgAsync("\"first\"", token);
            }

            await probe.ReceiveUntilAsync("msg", token);
            long echo = Stopwatch.GetTimestamp();
            return (probe, new ConnectSample(Clock.Ms(start, open), Clock.Ms(start, welcome), Clock.Ms(start, echo)));
        }
        catch
        {
            await probe.DisposeAsync();
            throw;
        }
    }

    public Task SendMsgAsync(string bodyJson, CancellationToken token) =>
        SendAsync($"{{\"type\":\"msg\",\"seq\":{++_seq},\"ack\":{LastServerSeq},\"body\":{bodyJson}}}", token);

    private async Task SendAsync(string json, CancellationToken token) =>
        await _ws.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, token);

    /// <summary>Reads messages until one of <paramref name="type"/>; returns its body (raw JSON) or null.</summary>
    public async Task<string?> ReceiveUntilAsync(string type, CancellationToken token)
    {
        while (true)
        {
            var (t, body) = await ReceiveAsync(token) ?? throw new WebSocketException($"closed before {type}: {_ws.CloseStatus} {_ws.CloseStatusDescription}");
            if (t == type)
            {
                return body;
            }

            if (t == "error")
            {
                throw new WebSocketException($"error before {type}: {body}");
            }
        }
    }

    /// <summary>One message: (type, raw body JSON or the whole message for errors); null when closed.</summary>
    public async Task<(string Type, string? Body)?> ReceiveAsync(CancellationToken token)
    {
        int count = 0;
        while (true)
        {
            var r = await _ws.ReceiveAsync(_buffer.AsMemory(count), token);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            count += r.Count;
            if (r.EndOfMessage)
            {
                break;
            }

            if (count == _buffer.Length)
            {
                throw new WebSocketException("message larger than 16 KiB");
            }
        }

        using var doc = JsonDocument.Parse(_buffer.AsMemory(0, count));
        var root = doc.RootElement;
        string type = root.GetProperty("type").GetString() ?? "";
        if (root.TryGetProperty("seq", out var seq) && seq.ValueKind == JsonValueKind.Number && type == "msg")
        {
            LastServerSeq = Math.Max(LastServerSeq, seq.GetInt64());
        }

        string? body = type == "error" ? root.GetRawText() : root.TryGetProperty("body", out var b) ? b.GetRawText() : null;
        return (type, body);
    }

    public async ValueTask DisposeAsync()
    {
        if (_ws.State == WebSocketState.Open)
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            try
            {
                await _ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bench done", quick.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
            {
            }
        }

        _ws.Abort();
        _ws.Dispose();
        _invoker.Dispose();
    }
}
