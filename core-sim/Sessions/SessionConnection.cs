using Microsoft.Extensions.Logging;
using Relay.CoreSim.Configuration;
using Relay.CoreSim.Faults;
using Relay.Contracts.Sessions;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Sessions;

/// <summary>
/// Runs the session protocol on one transport: hello → welcome (new or resumed session), then a read
/// loop (dedupe by seq, dispatch, acks) and a single writer loop that sends what the client has not been sent.
/// </summary>
internal sealed partial class SessionConnection
{
    private readonly ISessionTransport _transport;
    private readonly TokenClaims _claims;
    private readonly SessionRegistry _registry;
    private readonly FaultState _faults;
    private readonly CoreSimOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WakeSignal _wake = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _cts; // on the TimeProvider, so CancelAfter reads it too
    private Session? _session;
    private int _closing;

    public SessionConnection(ISessionTransport transport, TokenClaims claims, SessionRegistry registry, FaultState faults, CoreSimOptions options, TimeProvider time, ILogger logger)
    {
        _time = time;
        // On the system clock a plain source: it makes its timer only when CancelAfter is called (closing); one on a
        // TimeProvider holds a timer from the start (issue 21: 96 B per idle connection). Tests' fake clocks keep theirs.
        _cts = time == TimeProvider.System ? new CancellationTokenSource() : new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _transport = transport;
        _claims = claims;
        _registry = registry;
        _faults = faults;
        _options = options;
        _logger = logger;
    }

    /// <summary>Highest outbound seq sent on this connection (guarded by the session's lock).</summary>
    public long SentUpTo { get; set; }

    /// <summary>Highest inbound seq acknowledged on this connection (guarded by the session's lock).</summary>
    public long AckSentUpTo { get; set; }

    public bool ViaRelay => _transport.RelayId is not null;

    /// <summary>The relay this connection came through, or null for a direct websocket.</summary>
    public string? RelayId => _transport.RelayId;

    /// <summary>The client's address as its relay saw it; null for a direct websocket.</summary>
    public System.Net.IPAddress? ClientAddress => _transport.ClientAddress;

    public void Wake() => _wake.Set();

    private void CancelOnStop() => _cts.Cancel();

    public async Task RunAsync(CancellationToken stopping)
    {
        // Not a linked source (issue 21: ~220 B per idle connection): the host's stop cancels this connection's own.
        using var onStop = stopping.UnsafeRegister(static s => ((SessionConnection)s!).CancelOnStop(), this);
        var ct = _cts.Token;
        _registry.Track(this);
        Task? writer = null;
        try
        {
            if (!await HelloAsync(ct).ConfigureAwait(false))
            {
                return;
            }

            writer = WriteLoopAsync(_session!, ct);
            Wake();

            // The read loop, here and not in a method of its own: one async frame fewer held per idle connection (issue 21).
            var session = _session!;
            while (!ct.IsCancellationRequested)
            {
                var data = await _transport.ReceiveAsync(ct).ConfigureAwait(false);
                if (data is null || session.Attached != this)
                {
                    return;
                }

                await _faults.WaitWhileStalledAsync(session.Id, ct).ConfigureAwait(false);
                var delay = _faults.ProcessingDelay(_transport.RelayId);
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _time, ct).ConfigureAwait(false);
                }

                var frame = ClientFrame.Parse(data);
                if (frame is null)
                {
                    await CloseCoreAsync(CloseCodes.Policy, "malformed message", ServerFrames.Error("bad_message", "a message must be a JSON object with a type")).ConfigureAwait(false);
                    return;
                }

                if (frame.Ack is { } ack)
                {
                    _registry.Acknowledge(session, ack);
                }

                if (frame.Type == "msg")
                {
                    if (frame.Seq is not { } seq || frame.BodyJson is null)
                    {
                        await CloseCoreAsync(CloseCodes.Policy, "malformed msg", ServerFrames.Error("bad_message", "msg needs seq and body")).ConfigureAwait(false);
                        return;
                    }

                    if (frame.Room is { } room && !await JoinRoomAsync(session, room, seq).ConfigureAwait(false))
                    {
                        return;
                    }

                    switch (await _registry.ReceiveAsync(session, seq, frame.Room, frame.BodyJson).ConfigureAwait(false))
                    {
                        case SessionRegistry.TakenOver:
                            await CloseCoreAsync(CloseCodes.Normal, "session taken over", ServerFrames.Error("session_taken_over", "the session was resumed on another connection")).ConfigureAwait(false);
                            return;
                        case SessionRegistry.Ended:
                            await CloseCoreAsync(CloseCodes.SessionUnknown, "session unknown", ServerFrames.Error("session_unknown", "the session is unknown or expired; start a new session")).ConfigureAwait(false);
                            return;
                        case SessionRegistry.BrokerUnavailable:
                            throw new Cluster.BrokerUnavailableException("broker unavailable", null);
                        case -1:
                            await CloseCoreAsync(CloseCodes.Policy, "seq gap", ServerFrames.Error("seq_gap", $"seq {seq} skips a message; resend from welcome.lastSeq + 1")).ConfigureAwait(false);
                            return;
                    }

                    Wake();
                }
                else if (frame.Type == FrameTypes.Ping)
                {
                    // Liveness (PROTOCOL.md): answered at once on this connection, outside seq, acks and replay. The read loop
                    // waits for the pong to be written before it reads on, so a client that floods pings queues nothing here.
                    if (frame.BadId)
                    {
                        await CloseCoreAsync(CloseCodes.Policy, "malformed ping", ServerFrames.Error("bad_message", "ping id must be an integer")).ConfigureAwait(false);
                        return;
                    }

                    if (Volatile.Read(ref _closing) != 0 || !await SendLockedAsync(ServerFrames.Pong(frame.Id), ct).ConfigureAwait(false))
                    {
                        return;
                    }
                }
                else if (frame.Type == "hello")
                {
                    await CloseCoreAsync(CloseCodes.Policy, "second hello", ServerFrames.Error("bad_message", "hello is only the first message")).ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Cluster.BrokerUnavailableException e)
        {
            // Cluster mode: the broker is slow or absent. The client resumes later (on this node or another); what it
            // sent after the last ack it resends, what it was sent is in the broker's history.
            Log.BrokerUnavailable(_logger, _session?.Id, e.Message);
            await CloseCoreAsync(CloseCodes.TryAgainLater, "core state unavailable", ServerFrames.Error("core_unavailable", "the core's shared state did not answer in time; reconnect with backoff and resume")).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Log.ConnectionFailed(_logger, _session?.Id, e);
            await CloseNowAsync(CloseCodes.InternalError, "internal error").ConfigureAwait(false);
        }
        finally
        {
            _wake.Complete(); // ends the write loop's wait (it takes no token)
            if (writer is not null)
            {
                await writer.ConfigureAwait(false);
            }

            if (_session is { } detached && detached.Detach(this, _registry.Now))
            {
                _registry.Detached(detached);
            }
            _registry.Untrack(this);
            if (Volatile.Read(ref _closing) == 0)
            {
                await CloseNowAsync(CloseCodes.Normal, string.Empty).ConfigureAwait(false);
            }

            Log.Detached(_logger, _session?.Id, _transport.RelayId);
        }
    }

    /// <summary>Closes with an error message first (takeover, overflow, refusal).</summary>
    public void CloseWithError(string code, string message, int closeCode, long? seq = null) => _ = CloseCoreAsync(closeCode, message, ServerFrames.Error(code, message, seq));

    /// <summary>Closes with a code (kick, shutdown).</summary>
    public void Close(int closeCode, string reason) => _ = CloseCoreAsync(closeCode, reason, null);

    private async Task<bool> HelloAsync(CancellationToken ct)
    {
        byte[]? first;
        using (var timeout = new CancellationTokenSource(_options.HelloTimeout, _time))
        using (var helloTimeout = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token))
        {
            first = await _transport.ReceiveAsync(helloTimeout.Token).ConfigureAwait(false);
        }

        if (first is null)
        {
            return false;
        }

        await _faults.WaitWhileHellosHeldAsync(ct).ConfigureAwait(false);

        var hello = ClientFrame.Parse(first);
        if (hello is null || hello.Type != "hello")
        {
            await CloseCoreAsync(CloseCodes.Policy, "the first message must be a hello", ServerFrames.Error("bad_hello", "the first message must be a hello")).ConfigureAwait(false);
            return false;
        }

        bool resumed = hello.ResumeSession is not null;
        bool edgeWelcomed = false;
        Session? session;
        SessionConnection? previous;
        long lastSeq;
        if (resumed)
        {
            session = await _registry.FindForResumeAsync(hello.ResumeSession, hello.ResumeToken, _claims, hello.ResumeLastSeq).ConfigureAwait(false);
            if (session is null || !session.Attach(this, hello.ResumeLastSeq, out previous, out lastSeq))
            {
                Log.ResumeRefused(_logger, hello.ResumeSession);
                await CloseCoreAsync(CloseCodes.SessionUnknown, "session unknown", ServerFrames.Error("session_unknown", "the session is unknown or expired; start a new session")).ConfigureAwait(false);
                return false;
            }

            _registry.Resumed(session);
        }
        else if (_transport.EdgeSession is { } edge && EdgeWelcome.IsFreshHello(first))
        {
            // Issue 22: the relay has welcomed this session with the id and resume token it put in the OPEN. Adopt them;
            // no welcome from here (the client has it). An id already taken is refused: a relay cannot take over a session.
            session = await _registry.AdoptAsync(edge.Session, edge.ResumeToken, _claims).ConfigureAwait(false);
            if (session is null)
            {
                Log.EdgeSessionRefused(_logger, edge.Session, _transport.RelayId);
                await CloseCoreAsync(CloseCodes.Policy, "session id taken", ServerFrames.Error("session_id_taken", "the relay's session id is already in use; start a new session")).ConfigureAwait(false);
                return false;
            }

            edgeWelcomed = true;
            session.Attach(this, 0, out previous, out lastSeq);
        }
        else
        {
            session = await _registry.CreateAsync(_claims).ConfigureAwait(false);
            session.Attach(this, 0, out previous, out lastSeq);
        }

        _session = session;
        previous?.CloseWithError("session_taken_over", "the session was resumed on another connection", CloseCodes.Normal);
        foreach (var room in hello.Rooms)
        {
            if (!await JoinRoomAsync(session, room).ConfigureAwait(false))
            {
                return false;
            }
        }

        Log.Welcomed(_logger, session.Id, resumed, _transport.RelayId);
        if (edgeWelcomed)
        {
            return true;
        }

        return await SendLockedAsync(ServerFrames.Welcome(session.Id, session.ResumeToken, lastSeq, resumed), ct).ConfigureAwait(false);
    }

    /// <summary>Puts the session in the room, or ends it with a clear error and 1008 (a room its claims do not allow, or
    /// one room more than CoreSim:MaxRoomsPerSession). False when refused. <paramref name="seq"/>: the message that asked
    /// for the room (the error names it), none for the hello's rooms.</summary>
    private async ValueTask<bool> JoinRoomAsync(Session session, string room, long? seq = null)
    {
        switch (await _registry.JoinRoomAsync(session, room).ConfigureAwait(false))
        {
            case RoomJoin.Forbidden:
                Log.RoomRefused(_logger, session.Id, "forbidden");
                _registry.Terminate(session, "room_forbidden", "this token may not join that room: a visitor may join only its own room, named by its sub", CloseCodes.Policy, seq);
                return false;
            case RoomJoin.TooMany:
                Log.RoomRefused(_logger, session.Id, "too many rooms");
                _registry.Terminate(session, "too_many_rooms", $"a session may be in at most {_options.MaxRoomsPerSession} rooms", CloseCodes.Policy, seq);
                return false;
            default:
                return true;
        }
    }

    private async Task WriteLoopAsync(Session session, CancellationToken ct)
    {
        var batch = new List<OutboundMessage>();
        try
        {
            // No token on the idle wait (a registration per idle connection): the read loop's end completes _wake.
            while (await _wake.WaitAsync().ConfigureAwait(false))
            {
                await _faults.WaitWhileStalledAsync(session.Id, ct).ConfigureAwait(false);
                batch.Clear();
                if (!session.Collect(this, batch, out long ack, out bool ackPending))
                {
                    return;
                }

                await _sendLock.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    foreach (var message in batch)
                    {
                        if (Volatile.Read(ref _closing) != 0 || !await _transport.SendAsync(ServerFrames.Message(message.Seq, ack, message.Room, message.From, message.BodyJson), ct).ConfigureAwait(false))
                        {
                            return;
                        }
                    }

                    if (batch.Count == 0 && ackPending && Volatile.Read(ref _closing) == 0)
                    {
                        await _transport.SendAsync(ServerFrames.Ack(ack), ct).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _sendLock.Release();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<bool> SendLockedAsync(byte[] frame, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            return await _transport.SendAsync(frame, ct).ConfigureAwait(false);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task CloseCoreAsync(int closeCode, string reason, byte[]? error)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        try
        {
            if (await WaitForSendLockAsync().ConfigureAwait(false))
            {
                try
                {
                    if (error is not null)
                    {
                        using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
                        await _transport.SendAsync(error, timeout.Token).ConfigureAwait(false);
                    }

                    await _transport.CloseAsync(closeCode, reason).ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            else
            {
                _transport.Abort();
            }
        }
        finally
        {
            // The peer answers the close and the read loop ends; if it does not, give up after the close timeout.
            _cts.CancelAfter(_options.CloseTimeout);
        }
    }

    private async Task<bool> WaitForSendLockAsync()
    {
        using var timeout = new CancellationTokenSource(_options.CloseTimeout, _time);
        try
        {
            await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task CloseNowAsync(int closeCode, string reason)
    {
        await CloseCoreAsync(closeCode, reason, null).ConfigureAwait(false);
    }
}
