using Relay.Contracts.Sessions;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Sessions;

/// <summary>A session relayed by a gateway: one backhaul stream, whose messages are the session's text frames.</summary>
internal sealed class MuxStreamTransport(MuxStream stream) : ISessionTransport
{
    public MuxStream Stream => stream;

    public string? RelayId => string.IsNullOrEmpty(stream.RelayId) ? null : stream.RelayId;

    public async ValueTask<byte[]?> ReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                using var message = await stream.ReceiveAsync(cancellationToken).ConfigureAwait(false);
                switch (message.Type)
                {
                    case StreamMessageType.Close:
                        return null;
                    case StreamMessageType.Text:
                        return message.Data.ToArray();
                    default:
                        stream.Close(CloseCodes.UnsupportedData, "binary messages are not part of the session protocol");
                        return null;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> utf8Json, CancellationToken cancellationToken)
    {
        try
        {
            return await stream.SendAsync(utf8Json, isText: true, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public ValueTask CloseAsync(int code, string reason)
    {
        stream.Close(code, reason);
        return ValueTask.CompletedTask;
    }

    public void Abort() => stream.Abort(StreamCodes.GoingAway, "aborted");
}
