using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Relay.Testing;

/// <summary>A chat session spoken by hand over a real websocket (JSON frames), to break it at exact points.</summary>
public sealed class RawSession(ClientWebSocket socket) : IAsyncDisposable
{
    public ClientWebSocket Socket => socket;

    public static async Task<RawSession> ConnectAsync(Uri uri, CancellationToken ct)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, ct);
        return new RawSession(socket);
    }

    public Task SendAsync(object frame, CancellationToken ct) =>
        socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(frame), WebSocketMessageType.Text, true, ct);

    /// <summary>The next message as JSON, or null once closed.</summary>
    public Task<JsonElement?> ReceiveAsync(CancellationToken ct) => ReadJsonAsync(socket, ct);

    /// <summary>The next message of <paramref name="socket"/> (either end's) as JSON, or null once closed; at most 64 KiB.</summary>
    public static async Task<JsonElement?> ReadJsonAsync(WebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        int length = 0;
        while (true)
        {
            var r = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
            if (r.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            length += r.Count;
            if (r.EndOfMessage)
            {
                return JsonDocument.Parse(Encoding.UTF8.GetString(buffer, 0, length)).RootElement.Clone();
            }
        }
    }

    public async Task<JsonElement> ReceiveTypeAsync(string type, CancellationToken ct)
    {
        for (int i = 0; i < 10_000; i++)
        {
            var m = await ReceiveAsync(ct) ?? throw new InvalidOperationException($"closed ({socket.CloseStatus} {socket.CloseStatusDescription}) while waiting for {type}");
            if (m.GetProperty("type").GetString() == type)
            {
                return m;
            }
        }

        throw new InvalidOperationException($"no {type} in 10,000 messages");
    }

    public ValueTask DisposeAsync()
    {
        socket.Abort();
        socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
