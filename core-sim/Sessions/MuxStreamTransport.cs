using System.Net;
using Relay.Contracts.Sessions;
using Relay.Tunnel.Streams;

namespace Relay.CoreSim.Sessions;

/// <summary>A session relayed by a gateway: one backhaul stream, whose messages are the session's text frames.</summary>
internal sealed class MuxStreamTransport(MuxStream stream) : ISessionTransport
{
    public MuxStream Stream => stream;

    public string? RelayId => string.IsNullOrEmpty(stream.RelayId) ? null : stream.RelayId;

    /// <summary>Parsed when asked (the fleet view), not held per connection (issue 21).</summary>
    public IPAddress? ClientAddress => ParseAddress(stream.Info.ClientAddress);

    public (string Session, string ResumeToken)? EdgeSession { get; } =
        Relay.Contracts.Sessions.EdgeWelcome.TryRead(stream.Info.Claims, out var id, out var token) ? (id, token) : null;

    /// <summary>
    /// The address of the gateway's "address:port" (IPv6 unbracketed, as the gateway writes it, or bracketed), or a bare
    /// address; null when it does not parse.
    /// </summary>
    internal static IPAddress? ParseAddress(string? text)
    {
        if (string.IsNullOrEmpty(text) || text.Length > 64)
        {
            return null;
        }

        if (text.StartsWith('[') && IPEndPoint.TryParse(text, out var bracketed))
        {
            return bracketed.Address;
        }

        int colon = text.LastIndexOf(':');
        if (colon > 0 && ushort.TryParse(text.AsSpan(colon + 1), out _) && IPAddress.TryParse(text.AsSpan(0, colon), out var address))
        {
            return address;
        }

        return IPAddress.TryParse(text, out var bare) ? bare : null;
    }

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
