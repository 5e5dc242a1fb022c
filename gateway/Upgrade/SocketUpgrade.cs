using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using System.Net.WebSockets;
using Relay.Gateway.Configuration;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Upgrade;

/// <summary>
/// Issue 21: on the plain listener, a websocket upgrade to the session path whose request head arrives in one piece
/// becomes a session on its own socket, never a Kestrel connection: no socket connection, pipes, send and receive
/// loops, connection middleware frames or connection features per session (≈ 3.8 KB of ≈ 7 KB of heap per idle session), and
/// the session's sends go straight to the socket (no output pipe and send loop to wake). The head is only peeked at
/// (<see cref="SocketFlags.Peek"/>): anything else (other requests, a head in pieces, trusted proxies with their
/// PROXY header, permessage-deflate when compression is on) is handed to Kestrel untouched, where the connection gate,
/// the connection fast path (<see cref="WebSocketUpgradeMiddleware"/>) and ASP.NET Core take it as before. On the TLS
/// listener it does the TLS handshake first (<see cref="RunTlsAsync"/>) and hands over what is not a session already
/// decrypted (<see cref="DecryptedConnection"/>).
/// </summary>
/// <remarks>
/// The same edge rules as Kestrel's connections (<see cref="Edge.ConnectionGateMiddleware"/>): counted against the
/// connection cap, a pre-auth slot per address until the upgrade (an eviction ends the wait for the head), the head
/// within <see cref="GatewayOptions.RequestHeadTimeout"/> (shorter while Under Attack mode is on), then the endpoint's
/// admission (503, 401, 403, 429) and the websocket over <see cref="SocketStream"/>.
/// </remarks>
internal sealed partial class SocketUpgrade(
    SessionEndpoint endpoint, Edge.ConnectionGate gate, GatewayOptions options, TimeProvider time, Metrics.GatewayMetrics metrics, ILogger<SocketUpgrade> logger)
    : Edge.IClientConnections
{
    /// <summary>Runs one accepted connection: its session, a refusal, or a hand-over to Kestrel.</summary>
    public async Task RunAsync(Socket socket, Edge.IConnectionHandOver handOver, Tls.CertificateHolder? tls)
    {
        var remote = socket.RemoteEndPoint as IPEndPoint;
        if (remote is null || gate.Trusted.Contains(remote.Address))
        {
            handOver.HandOver(socket); // a proxy's PROXY header (before TLS) and X-Forwarded-For are read there
            return;
        }

        if (!gate.TryOpen())
        {
            Log.Refused(logger, remote, "the connection cap");
            socket.Dispose();
            return;
        }

        if (tls is not null)
        {
            await RunTlsAsync(socket, remote, handOver, tls).ConfigureAwait(false);
            return;
        }

        var owned = true;
        try
        {
            var (request, outcome) = await ReadHeadAsync(socket, remote).ConfigureAwait(false);
            if (outcome == HeadOutcome.HandOver)
            {
                owned = false;
                gate.Closed(); // Kestrel's gate middleware counts it again
                handOver.HandOver(socket);
                return;
            }

            if (request is null)
            {
                return; // closed, evicted or too slow
            }

            owned = !await AnswerAsync(socket, new SocketStream(socket), request, remote, tls: false).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            Log.Lost(logger, remote, e.Message); // reset before or during the upgrade
        }
        finally
        {
            if (owned)
            {
                socket.Dispose(); // a refusal, a loss, or a session that failed to start ends here
                gate.Closed();
            }
        }
    }

    private static readonly List<SslApplicationProtocol> s_alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    /// <summary>
    /// The wss listener (issue 21): the relay does the TLS handshake itself, with <see cref="SslStream"/> straight on the
    /// socket (<see cref="SocketStream"/>), not over Kestrel's socket connection and pipes, and reads the head through
    /// it. An HTTP/1.1 websocket upgrade to the session path, with nothing behind its head, becomes a session on that
    /// TLS stream. Anything else (HTTP/2 by ALPN, other requests, a frame sent before the 101, permessage-deflate when
    /// on) goes to Kestrel decrypted, with what was read (<see cref="DecryptedConnection"/>), where the connection fast
    /// path and ASP.NET Core take it as on the plain listener. The handshake and the head together get the head
    /// deadline, in a pre-auth slot. The connection is counted by the gate already; this gives its place back unless a
    /// session or Kestrel has it.
    /// </summary>
    private async Task RunTlsAsync(Socket socket, IPEndPoint remote, Edge.IConnectionHandOver handOver, Tls.CertificateHolder certificate)
    {
        var owned = true;
        SslStream? tls = null;
        try
        {
            tls = new SslStream(new SocketStream(socket), leaveInnerStreamOpen: false);
            var (request, alreadyRead) = await HandshakeAndReadHeadAsync(tls, remote, certificate).ConfigureAwait(false);
            if (alreadyRead is not null)
            {
                var decrypted = new DecryptedConnection(socket, tls, alreadyRead);
                owned = false;
                gate.Closed(); // Kestrel's pipeline after TLS counts it again
                handOver.HandOver(decrypted);
                return;
            }

            if (request is null)
            {
                return; // closed, evicted, too slow, or a failed handshake
            }

            owned = !await AnswerAsync(socket, tls, request, remote, tls: true).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or AuthenticationException or OperationCanceledException)
        {
            Log.Lost(logger, remote, e.Message); // reset, or a failed handshake
        }
        finally
        {
            if (owned)
            {
                tls?.Dispose();
                socket.Dispose();
                gate.Closed();
            }
        }
    }

    /// <summary>
    /// The handshake and the head, within the head deadline and a pre-auth slot: (the request, null) for a session here;
    /// (null, what was read) to hand over; (null, null) to close.
    /// </summary>
    private async Task<(UpgradeRequest? Request, byte[]? AlreadyRead)> HandshakeAndReadHeadAsync(SslStream tls, IPEndPoint remote, Tls.CertificateHolder certificate)
    {
        using var slot = gate.TryEnterPreAuth(remote.Address);
        if (slot is null)
        {
            Log.Refused(logger, remote, "the per-address pre-auth cap");
            return (null, null);
        }

        var headTimeout = gate.HeadTimeout(options.RequestHeadTimeout); // shorter while Under Attack mode is on
        using var wait = new CancellationTokenSource(headTimeout, time);
        slot.BeginHeadWait(wait);
        byte[]? buffer = null;
        try
        {
            int read = 0;
            UpgradeParse outcome = UpgradeParse.NotOurs;
            UpgradeRequest? request = null;
            int headLength = 0;
            bool h2;
            try
            {
                // Off the accept loop first: the handshake's first step (key exchange, signature) usually runs at once,
                // the ClientHello being there already, and the accept loop is an epoll thread other sockets wait on.
                await Task.Yield();
                try
                {
                    await tls.AuthenticateAsServerAsync(
                        new SslServerAuthenticationOptions { ServerCertificateContext = certificate.Context, ApplicationProtocols = s_alpn },
                        wait.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is AuthenticationException or IOException)
                {
                    metrics.TlsHandshakeFailed();
                    throw;
                }

                if (options.TlsReleaseBuffers && Tls.OpenSslBuffers.Available
                    && Tls.OpenSslBuffers.ReleaseWhenIdle(tls) is { } mode && (mode & Tls.OpenSslBuffers.ReleaseBuffersMode) != 0)
                {
                    metrics.TlsBuffersReleasedOnce(); // OpenSSL answered with the mode set
                }

                h2 = tls.NegotiatedApplicationProtocol == SslApplicationProtocol.Http2;
                if (!h2)
                {
                    // The head's buffer only once there is data: a connection that shakes hands and waits holds none.
                    await tls.ReadAsync(Memory<byte>.Empty, wait.Token).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(UpgradeRequest.MaxHeadBytes);
                }

                while (!h2)
                {
                    int n = await tls.ReadAsync(buffer!.AsMemory(read, UpgradeRequest.MaxHeadBytes - read), wait.Token).ConfigureAwait(false);
                    if (n == 0)
                    {
                        slot.EndHeadRead();
                        return (null, null); // closed before a whole head
                    }

                    read += n;
                    outcome = UpgradeRequest.Parse(buffer.AsSpan(0, read), WebSocketUpgradeMiddleware.Path, out request, out headLength);
                    if (outcome != UpgradeParse.Incomplete || read == UpgradeRequest.MaxHeadBytes)
                    {
                        break; // decided, or a head too long for this parser: Kestrel answers it
                    }
                }
            }
            catch (OperationCanceledException)
            {
                EndHeadWait(slot, remote, headTimeout, canceled: true);
                return (null, null);
            }

            if (!EndHeadWait(slot, remote, headTimeout, canceled: false))
            {
                return (null, null);
            }

            if (!h2 && outcome == UpgradeParse.WebSocket && headLength == read && !(request!.OffersDeflate && options.EnableCompression))
            {
                slot.Upgraded();
                return (request, null);
            }

            return (null, h2 ? [] : buffer!.AsSpan(0, read).ToArray()); // Kestrel's: HTTP/2, other requests, a frame before the 101
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private enum HeadOutcome
    {
        Done,
        HandOver,
    }

    /// <summary>
    /// Waits for the head (a pre-auth slot meanwhile), peeks at it and, when it is a complete websocket upgrade for this
    /// path, takes exactly its bytes off the socket (a frame right behind it stays there for the websocket).
    /// </summary>
    private async Task<(UpgradeRequest? Request, HeadOutcome Outcome)> ReadHeadAsync(Socket socket, IPEndPoint remote)
    {
        using var slot = gate.TryEnterPreAuth(remote.Address);
        if (slot is null)
        {
            Log.Refused(logger, remote, "the per-address pre-auth cap");
            return (null, HeadOutcome.Done);
        }

        var headTimeout = gate.HeadTimeout(options.RequestHeadTimeout); // shorter while Under Attack mode is on
        using (var wait = new CancellationTokenSource(headTimeout, time))
        {
            slot.BeginHeadWait(wait);
            try
            {
                await socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                EndHeadWait(slot, remote, headTimeout, canceled: true);
                return (null, HeadOutcome.Done);
            }

            if (!EndHeadWait(slot, remote, headTimeout, canceled: false))
            {
                return (null, HeadOutcome.Done);
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(UpgradeRequest.MaxHeadBytes);
        try
        {
            int peeked = socket.Receive(buffer, SocketFlags.Peek);
            if (peeked == 0)
            {
                return (null, HeadOutcome.Done); // closed before a byte
            }

            var outcome = UpgradeRequest.Parse(buffer.AsSpan(0, peeked), WebSocketUpgradeMiddleware.Path, out var request, out int headLength);
            if (outcome != UpgradeParse.WebSocket || request!.OffersDeflate && options.EnableCompression)
            {
                // Not ours, or not all here yet (a head in pieces): Kestrel reads the same bytes from the start.
                return (null, HeadOutcome.HandOver);
            }

            int taken = socket.Receive(buffer, 0, headLength, SocketFlags.None); // peeked: all there
            if (taken != headLength)
            {
                return (null, HeadOutcome.Done);
            }

            slot.Upgraded();
            return (request, HeadOutcome.Done);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// The endpoint's admission, answered on the session's stream (the socket's own, or the TLS stream over it): a
    /// refusal (503, 401, 403, 429) and a half-close, or the 101 and the session. True when the session started: it owns
    /// the stream and the socket from then on, and gives the gate its place back when it ends.
    /// </summary>
    private async Task<bool> AnswerAsync(Socket socket, Stream stream, UpgradeRequest request, IPEndPoint remote, bool tls)
    {
        var admission = endpoint.Admit(request.Token, request.Origin, remote.Address, request.Pow);
        if (admission.Claims is null)
        {
            await stream.WriteAsync(WebSocketUpgradeMiddleware.Refusal(admission.Status, admission.Reason!)).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            return false;
        }

        WebSocket session;
        try
        {
            // SocketStream's write is non-blocking and tried at once: the socket makes no send awaitable for it.
            await stream.WriteAsync(WebSocketUpgradeMiddleware.SwitchingProtocols(request.Key)).ConfigureAwait(false);
            SocketLiveness.Apply(socket, options.KeepAliveInterval, options.KeepAliveTimeout);
            // Pongs paced on the socket's own stream; over TLS above the SslStream (below it they are ciphertext).
            var paced = stream as AsyncDuplexStream ?? new PacedStream(stream);
            paced.Pongs = endpoint.Pongs;
            session = WebSocket.CreateFromStream(paced, endpoint.CreationOptions(kernelKeepAlive: true));
        }
        catch
        {
            endpoint.Release(admission);
            throw;
        }

        if (tls)
        {
            metrics.TlsDirectSession();
        }

        // Not awaited: the session gives the gate its place back when it ends (SessionEndpoint.OnSessionEnded), so
        // nothing of the upgrade (this frame, the head, the claims) is held for the session's life; disposing its
        // websocket disposes the stream (and a TLS stream's socket).
        _ = endpoint.RunSessionAsync(session, admission, remote.Port, Metrics.UpgradePath.Socket);
        return true;
    }

    /// <summary>
    /// Ends the wait for the head: false, logged, when the slot was evicted for a newer connection or the deadline
    /// passed (<paramref name="canceled"/>).
    /// </summary>
    private bool EndHeadWait(Edge.PreAuthSlot slot, IPEndPoint remote, TimeSpan headTimeout, bool canceled)
    {
        if (!slot.EndHeadRead())
        {
            Log.Evicted(logger, remote);
            return false;
        }

        if (canceled)
        {
            Log.HeadTimeout(logger, remote, headTimeout);
            return false;
        }

        return true;
    }

    private static partial class Log
    {
        [LoggerMessage(1020, LogLevel.Debug, "Connection from {Remote}: no request head within {Timeout}; closed")]
        public static partial void HeadTimeout(ILogger logger, IPEndPoint remote, TimeSpan timeout);

        [LoggerMessage(1021, LogLevel.Debug, "Connection from {Remote} closed at once: {Cap} is reached")]
        public static partial void Refused(ILogger logger, IPEndPoint? remote, string cap);

        [LoggerMessage(1022, LogLevel.Debug, "Pre-auth connection from {Remote} evicted at the pre-auth cap for a newer one")]
        public static partial void Evicted(ILogger logger, IPEndPoint remote);

        [LoggerMessage(1023, LogLevel.Debug, "Connection from {Remote} lost before its session: {Reason}")]
        public static partial void Lost(ILogger logger, IPEndPoint? remote, string reason);
    }
}
