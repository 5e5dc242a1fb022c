using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.WebUtilities;
using Relay.Gateway.Configuration;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// A Kestrel connection middleware that takes plain HTTP/1.1 websocket upgrades to the session path off the HTTP
/// stack: it reads the request head itself (<see cref="UpgradeRequest"/>), runs the same admission checks as the
/// endpoint (503, 401, 403, 429), answers 101 and runs the session over the connection's own pipes. The session then
/// holds no HTTP request, header collections, HttpContext or middleware frames — about 5 KB per idle session.
/// Anything else (other paths, HTTP/2, permessage-deflate when compression is on, any header it does not fully
/// understand) is handed, unconsumed, to Kestrel's HTTP stack and the <c>/ws</c> endpoint, which behave as before.
/// </summary>
/// <remarks>
/// The head must come within <see cref="GatewayOptions.RequestHeadTimeout"/>, or Under Attack mode's shorter
/// <see cref="Security.UnderAttackOptions.RequestHeadTimeout"/> while it is on (through the registered
/// <see cref="TimeProvider"/>). Connections from trusted proxies go to Kestrel, which reads their X-Forwarded-For.
/// </remarks>
internal sealed partial class WebSocketUpgradeMiddleware(
    ConnectionDelegate next, SessionEndpoint endpoint, Edge.ConnectionGate gate, GatewayOptions options, TimeProvider time, Metrics.GatewayMetrics metrics, ILogger logger)
{
    /// <summary>The session path.</summary>
    public const string Path = "/ws";

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        // Two frames: the handshake's (gone once it is done) and this small one that lives as long as the session.
        var (socket, admission, port) = await AcceptAsync(connection).ConfigureAwait(false);
        if (socket is not null)
        {
            await endpoint.RunSessionAsync(socket, admission, port, Metrics.UpgradePath.Connection).ConfigureAwait(false);
        }
    }

    /// <summary>Reads the head, admits and answers 101; or hands the connection over, or refuses it (no socket then).</summary>
    private async Task<(WebSocket? Socket, SessionEndpoint.Admission Admission, int Port)> AcceptAsync(ConnectionContext connection)
    {
        var remote = connection.RemoteEndPoint as IPEndPoint;
        if (remote is not null && gate.Trusted.Contains(remote.Address))
        {
            await next(connection).ConfigureAwait(false); // a forwarding proxy: its X-Forwarded-For is read there
            return default;
        }

        var input = connection.Transport.Input;
        UpgradeRequest? request;
        bool pastHead = false;
        var headTimeout = gate.HeadTimeout(options.RequestHeadTimeout); // shorter while Under Attack mode is on
        var slot = connection.Features.Get<Edge.PreAuthSlot>();
        bool handOver = false;
        using (var timeout = new CancellationTokenSource(headTimeout, time))
        using (timeout.Token.UnsafeRegister(static reader => ((PipeReader)reader!).CancelPendingRead(), input))
        {
            // The deadline and an eviction both cancel the pending read (no exception: a flood's connections end here).
            slot?.BeginHeadRead(input);
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await input.ReadAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (e is ConnectionResetException or IOException)
                {
                    // A client gone before its head (a preconnect it did not use, a scanner, a handshake flood): an
                    // ordinary end, not Kestrel's "Unhandled exception while processing" Error with a stack trace.
                    slot?.EndHeadRead();
                    Log.ResetBeforeHead(logger, connection.ConnectionId);
                    return default;
                }

                if (result.IsCanceled)
                {
                    input.AdvanceTo(result.Buffer.Start);
                    slot?.EndHeadRead();
                    if (!timeout.IsCancellationRequested)
                    {
                        return default; // evicted at the pre-auth cap (counted and logged by the gate)
                    }

                    Log.HeadTimeout(logger, connection.ConnectionId, headTimeout);
                    return default; // no request head in time: close, as Kestrel would
                }

                var buffer = result.Buffer;
                var outcome = UpgradeRequest.Parse(buffer, Path, out request, out int headLength);
                if (outcome == UpgradeParse.Incomplete && !result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                if (outcome != UpgradeParse.WebSocket || request!.OffersDeflate && options.EnableCompression)
                {
                    // Not ours: Kestrel's HTTP/1.1 or HTTP/2 stack reads the same bytes from the start, once this
                    // deadline is gone (below): left registered, it cancelled a read of Kestrel's at 10 s, which an
                    // HTTP/2 connection takes as its end, with every RFC 8441 session on it.
                    input.AdvanceTo(buffer.Start, buffer.Start);
                    if (slot?.EndHeadRead() is false)
                    {
                        return default; // evicted just now
                    }

                    handOver = true;
                    break;
                }

                input.AdvanceTo(buffer.GetPosition(headLength));
                pastHead = buffer.Length > headLength;
                if (slot?.EndHeadRead() is false)
                {
                    return default;
                }

                break;
            }
        }

        if (handOver)
        {
            await next(connection).ConfigureAwait(false);
            return default;
        }

        var admission = endpoint.Admit(request!.Token, request.Origin, remote?.Address ?? IPAddress.None, request.Pow);
        if (admission.Claims is null)
        {
            await WriteRefusalAsync(connection.Transport.Output, admission.Status, admission.Reason!).ConfigureAwait(false);
            return default;
        }

        try
        {
            connection.Features.Get<Edge.PreAuthSlot>()?.Upgraded(); // before the 101: the client may reconnect at once
            await WriteSwitchingProtocolsAsync(connection.Transport.Output, request.Key).ConfigureAwait(false);
            // Over TLS the websocket runs straight on the SslStream (issue 21: −13 % gateway CPU per wss message, the
            // pipes adapted from and back to a stream go), unless the client sent more than the head before the 101:
            // those bytes wait in the connection's pipe, so that session reads through it.
            if (!pastHead && connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ISslStreamFeature>()?.SslStream is { } tls)
            {
                metrics.TlsDirectSession();
                var direct = new TlsSessionStream(connection, tls) { Pongs = endpoint.Pongs };
                var overTls = WebSocket.CreateFromStream(direct, endpoint.CreationOptions());
                direct.Socket = overTls;
                return (overTls, admission, remote?.Port ?? 0);
            }

            var stream = new ConnectionStream(connection) { Pongs = endpoint.Pongs };
            var socket = WebSocket.CreateFromStream(stream, endpoint.CreationOptions());
            stream.Socket = socket;
            return (socket, admission, remote?.Port ?? 0);
        }
        catch
        {
            endpoint.Release(admission);
            throw;
        }
    }

    private static async Task WriteSwitchingProtocolsAsync(PipeWriter output, string key) =>
        await output.WriteAsync(SwitchingProtocols(key)).ConfigureAwait(false);

    private static async Task WriteRefusalAsync(PipeWriter output, int status, string reason) =>
        await output.WriteAsync(Refusal(status, reason)).ConfigureAwait(false);

    /// <summary>The 101 answer for a websocket key.</summary>
    internal static byte[] SwitchingProtocols(string key) =>
        Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: {SessionEndpoint.AcceptKey(key)}\r\n\r\n");

    /// <summary>A refusal (401, 403, 429, 503) with its reason as the body; the connection closes after it.</summary>
    internal static ReadOnlyMemory<byte> Refusal(int status, string reason)
    {
        byte[] body = Encoding.UTF8.GetBytes(reason + "\n");
        string head = $"HTTP/1.1 {status} {ReasonPhrases.GetReasonPhrase(status)}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        var writer = new ArrayBufferWriter<byte>(head.Length + body.Length);
        Encoding.ASCII.GetBytes(head, writer);
        writer.Write(body);
        return writer.WrittenMemory;
    }
}
