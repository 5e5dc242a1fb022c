using Relay.Tunnel.Streams;

namespace Relay.Testing.Backhaul;

/// <summary>The core side of a backhaul test: a stream handler that answers every message with itself.</summary>
public static class StreamEcho
{
    /// <summary>Echoes every message back, keeping its type, until the peer closes the stream or it can no longer send.</summary>
    public static async Task RunAsync(MuxStream stream, CancellationToken token)
    {
        while (true)
        {
            using var message = await stream.ReceiveAsync(token).ConfigureAwait(false);
            if (message.Type == StreamMessageType.Close)
            {
                return;
            }

            if (!await stream.SendAsync(message.Data, message.Type == StreamMessageType.Text, token).ConfigureAwait(false))
            {
                return;
            }
        }
    }
}
