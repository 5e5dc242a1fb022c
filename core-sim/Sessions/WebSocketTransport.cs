using System.Buffers;
using System.Net.WebSockets;
using Relay.Contracts.Sessions;

namespace Relay.CoreSim.Sessions;

/// <summary>A direct client websocket (core-sim's /ws).</summary>
internal sealed class WebSocketTransport(WebSocket socket, int maxMessageBytes, TimeSpan closeTimeout, TimeProvider time) : ISessionTransport
{
    private int _closed;

    public string? RelayId => null;

    public System.Net.IPAddress? ClientAddress => null; // a direct session is on no relay: nothing to rebalance

    public (string Session, string ResumeToken)? EdgeSession => null; // the core welcomes a direct session itself

    public async ValueTask<byte[]?> ReceiveAsync(CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        int length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= maxMessageBytes)
                    {
                        await CloseAsync((int)WebSocketCloseStatus.MessageTooBig, "message too big").ConfigureAwait(false);
                        return null;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxMessageBytes));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var result = await socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, maxMessageBytes + 1) - length), cancellationToken).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await CloseAsync(socket.CloseStatus is { } s ? (int)s : CloseCodes.Normal, string.Empty).ConfigureAwait(false);
                    return null;
                }

                length += result.Count;
                if (length > maxMessageBytes)
                {
                    await CloseAsync((int)WebSocketCloseStatus.MessageTooBig, "message too big").ConfigureAwait(false);
                    return null;
                }

                if (result.EndOfMessage)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }

        try
        {
            await socket.SendAsync(utf8Json, WebSocketMessageType.Text, true, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    public async ValueTask CloseAsync(int code, string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(closeTimeout, time);
            await socket.CloseOutputAsync((WebSocketCloseStatus)code, reason, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            socket.Abort();
        }
    }

    public void Abort()
    {
        Volatile.Write(ref _closed, 1);
        socket.Abort();
    }
}
