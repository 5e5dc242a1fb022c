using System.Buffers;
using System.Net.WebSockets;
using System.Threading.RateLimiting;
using Relay.Contracts.Sessions;
using Relay.Gateway.Configuration;
using Relay.Tunnel.Streams;

namespace Relay.Gateway.Sessions;

/// <summary>
/// One websocket session carried as one backhaul stream, with two pumps. Client → core: zero-byte read first, so an
/// idle session holds no buffer; size cap 1009; the message rate paced (held to it, not closed); the stream's credit stops reading from the client
/// when the core is slow. Core → client: straight from the stream's receive queue to the websocket (no second queue,
/// no extra hop); the stream's window bounds what waits, and a client that lets more than
/// <see cref="GatewayOptions.SendQueueBytes"/> wait is closed with 1013. Payloads are never parsed, but for one
/// bounded exception (issue 22, <see cref="GatewayOptions.EdgeWelcome"/>): the client's first message, to see whether it
/// is a fresh hello the relay answers with the welcome itself.
/// </summary>
internal sealed partial class RelaySession
{
    /// <summary>What a closing session reads and drops, at most, while it waits for the client's close frame.</summary>
    private const int DiscardLimitBytes = 1024 * 1024;

    private static readonly Action<object> SlowClientCallback = static state => ((RelaySession)state).OnSlowClient();

    private readonly WebSocket _socket;
    private readonly MuxStream _stream;
    private readonly GatewayOptions _options;
    private readonly TimeProvider _time;
    private readonly Metrics.GatewayMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TokenBucketRateLimiterOptions _rateOptions;
    // The message-rate bucket, inline (issue 21: a TokenBucketRateLimiter with its options copy and queue was ~190 B
    // per session): tokens left (-1 until the first message) and when it was last filled (TimeProvider timestamp).
    private double _tokens = -1;
    private long _filledAt;
    private Task? _run;
    private Task? _fromClient;
    private volatile bool _overflowed;
    private int _closeCode;

    // Who sends to the client (issue 22): the edge welcome is sent by the client-to-core pump, every other frame (the
    // core's messages, the close) by the core-to-client pump; a websocket takes one send at a time. 0: nothing sent
    // yet, 1: the edge welcome is being sent (the other pump waits for _edgeWelcomeSent), 2: the core-to-client pump's.
    private int _sendOwner;
    private TaskCompletionSource? _edgeWelcomeSent;
    private string _closeReason = string.Empty;

    private readonly SessionEndpoint _endpoint;

    public RelaySession(WebSocket socket, MuxStream stream, SessionEndpoint endpoint, string key, System.Net.IPAddress ip, GatewayOptions options, Metrics.GatewayMetrics metrics, TokenBucketRateLimiterOptions rateOptions, TimeProvider time, ILogger logger)
    {
        _socket = socket;
        _stream = stream;
        _endpoint = endpoint;
        Key = key;
        Ip = ip;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _rateOptions = rateOptions;
        _time = time;
    }

    /// <summary>"site/subject", for logs.</summary>
    public string Key { get; }

    /// <summary>The client's address (its per-IP slot is given back when the session ends).</summary>
    public System.Net.IPAddress Ip { get; }

    /// <summary>The session's id in the registry.</summary>
    public long RegistryId { get; set; }

    /// <summary>
    /// Issue 22: the id and resume token minted for this session (in its OPEN), until the client's first message has been
    /// read: when that is a fresh hello, the relay welcomes the client with them at once. Null when the edge welcome is off.
    /// </summary>
    public (string Session, string ResumeToken)? EdgeSession { get; set; }

    /// <summary>Where its upgrade was taken; a session on its own socket gives its connection's place at the gate back at its end.</summary>
    public Metrics.UpgradePath Path { get; init; }

    /// <summary>The backhaul stream's id, for logs.</summary>
    public ulong StreamId => _stream.Id;

    /// <summary>Completes when the session has ended (after <see cref="RunAsync"/> has started).</summary>
    public Task Completion => _run ?? Task.CompletedTask;

    /// <summary>Bytes from the core waiting for this client.</summary>
    public long QueuedBytes => _stream.ReceiveBufferedBytes;

    /// <summary>Asks the session to close with <paramref name="code"/> (drain 4001, shutdown 1001).</summary>
    public void RequestClose(int code, string reason)
    {
        SetClose(code, reason);
        _stream.Close(code, reason);
        _stream.StopReceiving();
    }

    /// <summary>Runs both pumps until the session has ended. Call once.</summary>
    public Task RunAsync()
    {
        if (_run is null)
        {
            _stream.SetReceiveLimit(_options.SendQueueBytes, SlowClientCallback, this);
            _stream.InlineReceiveContinuations = _options.InlineScheduling;
            // The client pump starts inline and yields at its first wait: no thread-pool wrapper per session. The
            // core pump's task is the session's (it waits for the client pump at its end): one frame fewer per session.
            _fromClient = ClientToCoreAsync();
            _run = CoreToClientAsync();
        }

        return _run;
    }

    public int CloseCode => _closeCode == 0 ? (int)(_socket.CloseStatus ?? WebSocketCloseStatus.Empty) : _closeCode;

    private void SetClose(int code, string reason)
    {
        if (Interlocked.CompareExchange(ref _closeCode, code, 0) == 0)
        {
            _closeReason = reason;
        }
    }

    private void OnSlowClient()
    {
        // From the link's read loop: more than SendQueueBytes from the core wait for this client. Not blocking.
        Log.SlowClient(_logger, _options.SendQueueBytes);
        SetClose(CloseCodes.TryAgainLater, "client reads too slowly");
        _overflowed = true;
        _stream.Close(CloseCodes.TryAgainLater, "client reads too slowly");
        _stream.StopReceiving();
    }

    private async Task ClientToCoreAsync()
    {
        byte[]? buffer = null;
        var edge = EdgeSession; // only the first message is looked at; the session holds no strings after it
        EdgeSession = null;
        try
        {
            while (true)
            {
                // Zero-byte read: wait for data without holding a buffer (idle sessions cost no buffer).
                // No cancellation registration on the idle wait (it would cost every idle session); the
                // session ends this read by aborting the socket once the close handshake is over or timed out.
                var peek = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
                if (peek.MessageType == WebSocketMessageType.Close)
                {
                    int code = (int)(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure);
                    SetClose(code, _socket.CloseStatusDescription ?? string.Empty);
                    _stream.Close(code == (int)WebSocketCloseStatus.Empty ? CloseCodes.Normal : code, _socket.CloseStatusDescription ?? string.Empty);
                    return;
                }

                buffer = ArrayPool<byte>.Shared.Rent(Math.Min(_options.MaxMessageSize + 1, 16 * 1024));
                int length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length > _options.MaxMessageSize)
                        {
                            Fail(CloseCodes.TooBig, $"message exceeds {_options.MaxMessageSize} bytes");
                            await DiscardUntilCloseAsync(buffer).ConfigureAwait(false);
                            return;
                        }

                        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, _options.MaxMessageSize + 1));
                        buffer.AsSpan(0, length).CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = grown;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                    length += result.Count;
                }
                while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    int code = (int)(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure);
                    SetClose(code, _socket.CloseStatusDescription ?? string.Empty);
                    _stream.Close(code, _socket.CloseStatusDescription ?? string.Empty);
                    return;
                }

                if (length > _options.MaxMessageSize)
                {
                    Fail(CloseCodes.TooBig, $"message exceeds {_options.MaxMessageSize} bytes");
                    await DiscardUntilCloseAsync(buffer).ConfigureAwait(false);
                    return;
                }

                if (!TryTakeToken(out TimeSpan wait))
                {
                    // Over the rate: the message waits for its token, and the client's next ones wait in its socket
                    // (nothing more is read meanwhile). A client that sends faster than the rate is held to it, never
                    // closed for it: an SDK coming back with a full outbox sends it all at once (PROTOCOL.md, "Message rate").
                    var paced = Task.Delay(wait, _time);
                    _metrics.MessagePaced(); // counted once the wait is set (a test's clock moves on this count)
                    await paced.ConfigureAwait(false);
                    while (!TryTakeToken(out wait))
                    {
                        await Task.Delay(wait, _time).ConfigureAwait(false);
                    }
                }

                _metrics.MessageIn(length);
                if (edge is { } minted)
                {
                    // Before the hello goes to the core: nothing the core says about this session can then be ahead of it.
                    edge = null;
                    if (result.MessageType == WebSocketMessageType.Text && EdgeWelcome.IsFreshHello(buffer.AsMemory(0, length)))
                    {
                        var welcomed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        _edgeWelcomeSent = welcomed; // published before the exchange below (a full fence)
                        if (Interlocked.CompareExchange(ref _sendOwner, 1, 0) == 0)
                        {
                            // Not when the core has already closed the stream (its refusal is the answer) or sent anything.
                            try
                            {
                                await SendEdgeWelcomeAsync(minted.Session, minted.ResumeToken).ConfigureAwait(false);
                            }
                            finally
                            {
                                Volatile.Write(ref _sendOwner, 2);
                                welcomed.SetResult();
                                Volatile.Write(ref _edgeWelcomeSent, null); // not held for the session's life (issue 21: 88 B)
                            }
                        }
                        else
                        {
                            Volatile.Write(ref _edgeWelcomeSent, null); // the core pump spoke first: no edge welcome
                        }
                    }
                }

                bool sent = await _stream.SendAsync(buffer.AsMemory(0, length), result.MessageType == WebSocketMessageType.Text, CancellationToken.None).ConfigureAwait(false);
                if (!sent)
                {
                    // The session is closing (a drain, a limit, the core's close): the client's close is still to come.
                    await DiscardUntilCloseAsync(buffer).ConfigureAwait(false);
                    return;
                }


                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.ClientReadEnded(_logger, ex.Message);
            SetClose(CloseCodes.GoingAway, "client connection lost");
            _stream.Close(CloseCodes.GoingAway, "client connection lost");
            _stream.StopReceiving();
        }
        catch (Exception ex)
        {
            // Nothing else is expected here (a client's bad first message once was); the session ends at once with
            // 1011, rather than holding its client's slots with nothing reading it until the core gives up.
            Log.ClientPumpFailed(_logger, ex);
            SetClose(CloseCodes.InternalError, "internal error");
            _stream.Close(CloseCodes.InternalError, "internal error");
            _stream.StopReceiving();
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private async Task CoreToClientAsync()
    {
        try
        {
            while (true)
            {
                // No cancellation token on the idle wait (a registration per idle session); closing ends it
                // with _stream.StopReceiving().
                var message = await _stream.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
                if (message.Type == StreamMessageType.Close)
                {
                    break;
                }

                using (message)
                {
                    if (_overflowed || _socket.State != WebSocketState.Open && _socket.State != WebSocketState.CloseReceived)
                    {
                        continue; // closing: what the core sent stays in its replay buffer for the resume
                    }

                    await TakeSendTurnAsync().ConfigureAwait(false);
                    await _socket.SendAsync(message.Data, message.Type == StreamMessageType.Text ? WebSocketMessageType.Text : WebSocketMessageType.Binary, true, CancellationToken.None).ConfigureAwait(false);
                    _metrics.MessageOut(message.Data.Length);
                }
            }

            if (_closeCode == 0)
            {
                // The core closed the stream (or the stream ended): its code goes to the client.
                var info = _stream.RemoteClose ?? await _stream.Completion.ConfigureAwait(false);
                SetClose(info.Code, info.Reason);
            }

            // The core, a drain or a limit ended the session: close the websocket with its code.
            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                int code = _closeCode == 0 ? CloseCodes.Normal : _closeCode;
                var grace = _overflowed ? _options.SlowClientCloseTimeout : _options.CloseTimeout;
                using var timeout = new CancellationTokenSource(grace, _time);
                await TakeSendTurnAsync().ConfigureAwait(false);
                var (status, reason) = CloseFrame(code, _closeReason);
                await _socket.CloseOutputAsync(status, reason, timeout.Token).ConfigureAwait(false);
                // Let the client answer the close (a slow reader needs longer to reach it); cancelling the
                // read pump earlier would reset the connection and lose the close frame in flight.
                await Task.WhenAny(_fromClient!, Task.Delay(grace, _time)).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Log.ClientWriteEnded(_logger, ex.Message);
            _socket.Abort();
        }
        catch (Exception ex)
        {
            // Anything else is a bug, but the session must still end (registry, per-IP slot, gate place, stream, timer).
            Log.ClientWriteFailed(_logger, ex);
            _socket.Abort();
        }
        finally
        {
            _stream.StopReceiving();
            while (true)
            {
                // Messages left in the queue go back to the pool; the core replays them on a resume.
                var left = await _stream.ReceiveAsync(CancellationToken.None).ConfigureAwait(false);
                if (left.Type == StreamMessageType.Close)
                {
                    break;
                }

                left.Dispose();
            }

            if (_fromClient is { IsCompleted: false })
            {
                // No tokens to cancel (a registration per session): the abort ends a pending read or send, and the
                // stream's close ends a wait for credit.
                _socket.Abort();
                SetClose(CloseCodes.GoingAway, "client connection lost");
                _stream.Close(CloseCodes.GoingAway, "client connection lost");
            }
        }

        try
        {
            await _fromClient!.ConfigureAwait(false);
        }
        finally
        {
            if (_stream.CloseInfo is null)
            {
                // The close is on its way to the core; give its answer a moment, then reset the stream.
                await _stream.Completion.WaitAsync(_options.BackhaulCloseTimeout, _time).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                _stream.Abort(CloseCodes.GoingAway, "session ended");
            }

            StopExpiryTimer();
            _socket.Dispose();
            _endpoint.OnSessionEnded(this);
        }
    }

    /// <summary>
    /// The core-to-client pump's turn to send: at once, unless the edge welcome is being sent (then after it). The
    /// welcome's completion is published before the turn is taken for it and cleared only after it is signalled, so a
    /// null here, with the turn taken, means the welcome has been sent.
    /// </summary>
    private ValueTask TakeSendTurnAsync() =>
        Volatile.Read(ref _sendOwner) == 2 || Interlocked.CompareExchange(ref _sendOwner, 2, 0) != 1 || Volatile.Read(ref _edgeWelcomeSent) is not { } sending
            ? ValueTask.CompletedTask
            : new ValueTask(sending.Task);

    /// <summary>
    /// Issue 22: the welcome for a fresh hello, from the relay, just before the hello goes into the stream (the core adopts
    /// the id from the OPEN and sends no welcome of its own; the same <see cref="EdgeWelcome.IsFreshHello"/> decides on
    /// both sides). Nothing from the core about the session can be ahead of it: the core speaks only once it has read the
    /// hello. The websocket serialises this send with the core pump's (a refusal of the stream at its OPEN can race it:
    /// its close then comes before or after the welcome, either way a close).
    /// </summary>
    private async ValueTask SendEdgeWelcomeAsync(string session, string resumeToken)
    {
        var welcome = ServerFrames.Welcome(session, resumeToken, 0, resumed: false);
        await _socket.SendAsync(welcome, WebSocketMessageType.Text, true, CancellationToken.None).ConfigureAwait(false);
        _metrics.MessageOut(welcome.Length);
        _metrics.EdgeWelcomed();
    }

    /// <summary>
    /// After the gateway has begun to close the session, reads and drops what the client still sends until its close
    /// frame arrives (the dropped messages stay unacknowledged in the client's outbox; it resends them on resume).
    /// Stopping at once would end the connection with the close handshake half done: the connection is then aborted
    /// (and reset by the kernel when the client's data is unread), the close frame in flight can be lost, and the
    /// client sees 1006 instead of the code (a drain's 4001 included). Bounded: at most
    /// <see cref="DiscardLimitBytes"/>, and <see cref="CoreToClientAsync"/> aborts the socket when the client does not
    /// answer the close within its grace period.
    /// </summary>
    private async Task DiscardUntilCloseAsync(byte[] buffer)
    {
        long discarded = 0;
        while (discarded <= DiscardLimitBytes)
        {
            var result = await _socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None).ConfigureAwait(false);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return;
            }

            discarded += result.Count;
        }

        Log.DiscardLimitReached(_logger, DiscardLimitBytes);
    }

    /// <summary>
    /// One token from the session's bucket of <see cref="GatewayOptions.MessageBurst"/>, which fills continuously at
    /// <see cref="GatewayOptions.MessagesPerSecond"/>, by the time elapsed since the last message (no timer per session,
    /// nothing allocated, on the registered <see cref="TimeProvider"/>). Full at the first message. When empty,
    /// <paramref name="wait"/> is how long until the next token (at least a millisecond).
    /// </summary>
    private bool TryTakeToken(out TimeSpan wait)
    {
        wait = TimeSpan.Zero;
        long now = _time.GetTimestamp();
        double limit = _rateOptions.TokenLimit;
        _tokens = _tokens < 0
            ? limit
            : Math.Min(limit, _tokens + _time.GetElapsedTime(_filledAt, now).TotalSeconds * _rateOptions.TokensPerPeriod / _rateOptions.ReplenishmentPeriod.TotalSeconds);
        _filledAt = now;
        if (_tokens < 1)
        {
            double seconds = (1 - _tokens) * _rateOptions.ReplenishmentPeriod.TotalSeconds / _rateOptions.TokensPerPeriod;
            wait = TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(seconds * 1000)));
            return false;
        }

        _tokens--;
        return true;
    }

    private void Fail(int code, string reason)
    {
        Log.ClientViolation(_logger, code, reason);
        SetClose(code, reason);
        _stream.Close(code, reason);
        _stream.StopReceiving();
    }

    /// <summary>
    /// The close frame for the client: <paramref name="code"/> when an endpoint may send it (RFC 6455 7.4: 1000-1003,
    /// 1007-1014, 3000-4999), else 1011; the reason cut at a character to the 123 UTF-8 bytes a close frame has room
    /// for. Both come from the core too (a reason may echo a user's input), and the websocket throws on either.
    /// </summary>
    internal static (WebSocketCloseStatus Status, string Reason) CloseFrame(int code, string? reason)
    {
        bool sendable = code is (>= 1000 and <= 1003) or (>= 1007 and <= 1014) or (>= 3000 and <= 4999);
        reason ??= "";
        if (reason.Length > MaxCloseReasonBytes / 3 && System.Text.Encoding.UTF8.GetByteCount(reason) > MaxCloseReasonBytes)
        {
            int bytes = 0, end = 0;
            while (end < reason.Length)
            {
                int chars = char.IsSurrogatePair(reason, end) ? 2 : 1;
                int size = System.Text.Encoding.UTF8.GetByteCount(reason.AsSpan(end, chars));
                if (bytes + size > MaxCloseReasonBytes)
                {
                    break;
                }

                bytes += size;
                end += chars;
            }

            reason = reason[..end];
        }

        return (sendable ? (WebSocketCloseStatus)code : (WebSocketCloseStatus)CloseCodes.InternalError, reason);
    }

    /// <summary>A close frame's payload is at most 125 bytes: the code's two, then the reason.</summary>
    private const int MaxCloseReasonBytes = 123;
}
