using System.Net;
using Microsoft.AspNetCore.Connections;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Edge;

/// <summary>
/// The first connection middleware on each client listener (before TLS): counts the connection against the caps of
/// <see cref="ConnectionGate"/> and closes it at once beyond them; from a trusted proxy, reads the PROXY v2 header
/// first and makes its source the connection's remote address (so per-address limits, sessions and logs see the
/// client). Gives the pre-auth slot to the connection as a feature (<see cref="PreAuthSlot"/>).
/// </summary>
internal sealed partial class ConnectionGateMiddleware(ConnectionDelegate next, ConnectionGate gate, GatewayOptions options, TimeProvider time, ILogger logger)
{
    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        if (!gate.TryOpen())
        {
            Log.Refused(logger, connection.RemoteEndPoint, "the connection cap");
            return; // Kestrel closes it
        }

        try
        {
            if (connection.RemoteEndPoint is IPEndPoint peer && gate.Trusted.Contains(peer.Address))
            {
                var (valid, source) = await ReadProxyHeaderAsync(connection).ConfigureAwait(false);
                if (!valid)
                {
                    gate.RefuseProxyHeader();
                    Log.BadProxyHeader(logger, peer);
                    return;
                }

                if (source is not null)
                {
                    connection.RemoteEndPoint = source; // Kestrel's HTTP stack reads it after this
                }
            }

            var client = (connection.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            using var slot = gate.TryEnterPreAuth(client, connection);
            if (slot is null)
            {
                Log.Refused(logger, connection.RemoteEndPoint, "the per-address pre-auth cap");
                return;
            }

            connection.Features.Set(slot);
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            catch (Exception e) when (slot.Evicted)
            {
                Log.Evicted(logger, connection.RemoteEndPoint, e.Message); // the abort surfaces as an exception in whoever was reading
            }
        }
        finally
        {
            gate.Closed();
        }
    }

    /// <summary>Reads the PROXY v2 header within the head deadline: (true, source) for PROXY, (true, null) for LOCAL, (false, _) otherwise.</summary>
    private async Task<(bool Valid, IPEndPoint? Source)> ReadProxyHeaderAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        using var deadline = new CancellationTokenSource(gate.HeadTimeout(options.RequestHeadTimeout), time);
        while (true)
        {
            System.IO.Pipelines.ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return (false, null);
            }

            var buffer = result.Buffer;
            var outcome = ProxyHeader.Parse(buffer, out var source, out int length);
            if (outcome == ProxyParse.Incomplete && !result.IsCompleted)
            {
                input.AdvanceTo(buffer.Start, buffer.End);
                continue;
            }

            if (outcome is ProxyParse.Proxy or ProxyParse.Local)
            {
                input.AdvanceTo(buffer.GetPosition(length));
                return (true, source);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            return (false, null);
        }
    }
}
