using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Relay.Client.Internal;
using Relay.Contracts.Sessions;

namespace Relay.Client;

public sealed partial class RelayClient
{
    /// <summary>How a connection ended: its close code (null when it broke or the client ended it), why, whether it was
    /// welcomed and how long it lived from the welcome (on the options' clock), and whether another connection took the session over.</summary>
    private readonly record struct Outcome(int? CloseCode, string? Reason, bool Welcomed, bool TakenOver, TimeSpan Lived = default);

    /// <summary>One websocket: hello/welcome, a read loop and a single writer.</summary>
    private sealed class Connection(RelayClient owner, ClientWebSocket socket)
    {
        private const int MaxInboundBytes = 16 * 1024 * 1024;
        private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private long _sentUpTo;
        private long _ackSentUpTo = -1;
        private int _unackedIn;
        private int _ackArmed;
        private Timer? _ackTimer;
        private long _received; // frames (and frame parts) read, for the heartbeat
        private long _lastReceivedAt; // TimeProvider timestamp of the last of them
        private int _delivering; // 1 while the read loop waits for room in the application's inbox (not the peer's fault)
        private int _pingDue;
        private long _pingId;
        private string? _deadReason;

        public void Wake() => _wake.Writer.TryWrite(true);

        /// <summary>A message arrived: acknowledge it with the next outgoing message, or on its own after AckDelay.</summary>
        private void AckSoon()
        {
            var delay = owner._options.AckDelay;
            if (delay <= TimeSpan.Zero || Interlocked.Increment(ref _unackedIn) >= 32)
            {
                Wake();
                return;
            }

            if (Interlocked.Exchange(ref _ackArmed, 1) == 0)
            {
                _ackTimer ??= new Timer(static state => ((Connection)state!).AckTimerFired(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _ackTimer.Change(delay, Timeout.InfiniteTimeSpan);
            }
        }

        private void AckTimerFired()
        {
            Volatile.Write(ref _ackArmed, 0);
            Wake();
        }

        public void Abort() => socket.Abort();

        public async Task CloseAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _sendLock.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", timeout.Token).ConfigureAwait(false);
                }
                finally
                {
                    _sendLock.Release();
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }

        /// <summary>
        /// A new session's hello (no resume, nothing pipelined: while racing, the loser's session must carry no message) and
        /// its welcome; null when the connection ends first. The caller then runs the winner with <see cref="RunAsync"/>.
        /// </summary>
        public async Task<ServerFrame?> HandshakeAsync(CancellationToken ct)
        {
            await socket.SendAsync(ClientFrames.Hello(null, null, 0, owner._options.Rooms), WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
            while (true)
            {
                var frame = await ReceiveFrameAsync(ct).ConfigureAwait(false);
                if (frame is null || frame.Type == "welcome")
                {
                    return frame;
                }

                if (frame.Type == "error")
                {
                    FailureReason = frame.Message;
                }
            }
        }

        /// <summary>The error the core sent during <see cref="HandshakeAsync"/>, if any.</summary>
        public string? FailureReason { get; private set; }

        /// <summary>The socket, for its close status after a failed handshake.</summary>
        public ClientWebSocket Socket => socket;

        /// <summary>A connection not taken (it lost the race): closed with 1000 at once, then released.</summary>
        public async Task DiscardAsync()
        {
            await CloseAsync().ConfigureAwait(false);
            socket.Abort();
            socket.Dispose();
        }

        /// <summary>Runs the connection: hello and welcome (unless <paramref name="welcome"/> came from <see cref="HandshakeAsync"/>), then messages until it ends.</summary>
        public async Task<Outcome> RunAsync(CancellationToken stopping, ServerFrame? welcome = null)
        {
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var ct = cts.Token;
            bool welcomed = false, takenOver = false;
            long welcomedAt = 0;
            string? reason = null;
            Task? writer = null;
            Task? heartbeat = null;
            try
            {
                var early = new List<byte[]>();
                long pipelinedUpTo = 0;
                ServerFrame? frame = welcome;
                if (frame is null)
                {
                    byte[] hello;
                    lock (owner._gate)
                    {
                        hello = ClientFrames.Hello(owner._session, owner._resumeToken, owner._inSeq, owner._options.Rooms);

                        // A fresh session sends what is already in the outbox right behind the hello, without
                        // waiting a round trip for the welcome: the core reads the socket in order, so they land
                        // after the hello. (A resume waits: the welcome says what the core already holds.)
                        if (owner._session is null)
                        {
                            owner.RenumberAfter(0); // a new session's seqs count from 1, without gaps
                            foreach (var p in owner._pending)
                            {
                                early.Add(ClientFrames.Message(p.Seq, 0, p.Room, p.BodyJson));
                                pipelinedUpTo = p.Seq;
                            }
                        }
                    }

                    await socket.SendAsync(hello, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
                    foreach (var bytes in early)
                    {
                        await socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
                    }

                    using (var welcomeTimeout = new CancellationTokenSource(owner._options.ConnectTimeout, owner._options.TimeProvider))
                    using (var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, welcomeTimeout.Token))
                    {
                        while (true)
                        {
                            frame = await ReceiveFrameAsync(linked.Token).ConfigureAwait(false);
                            if (frame is null || frame.Type == "welcome")
                            {
                                break;
                            }

                            if (frame.Type == "error")
                            {
                                reason = frame.Message;
                                owner.OnError(frame);
                            }
                        }
                    }

                    if (frame is null)
                    {
                        return new Outcome((int?)socket.CloseStatus, socket.CloseStatusDescription ?? reason, false, false);
                    }
                }

                welcomed = true;
                welcomedAt = owner._options.TimeProvider.GetTimestamp();
                _sentUpTo = Math.Max(owner.OnWelcome(frame, out var dropped), frame.Resumed ? 0 : pipelinedUpTo);
                if (dropped is not null)
                {
                    owner.Error?.Invoke(new RelayClientError("message_too_big", "the message was refused as too big (1009) and is not resent", dropped.Seq, dropped.Room, dropped.BodyJson));
                }

                lock (owner._gate)
                {
                    owner._connection = this;
                }

                owner.SetState(RelayClientState.Connected, null, null, frame.Resumed);
                owner._firstWelcome.TrySetResult();
                writer = WriteLoopAsync(ct);
                heartbeat = owner._options.Heartbeat > TimeSpan.Zero ? HeartbeatLoopAsync(ct) : null;
                Wake();
                while (true)
                {
                    frame = await ReceiveFrameAsync(ct).ConfigureAwait(false);
                    if (frame is null)
                    {
                        break;
                    }

                    if (frame.Ack is { } ack)
                    {
                        owner.Acknowledge(ack);
                    }

                    if (frame.Type == "msg" && frame.Seq is { } ahead && ahead > Volatile.Read(ref owner._inSeq) + 1)
                    {
                        // A gap the core should never produce: delivering past it would lose the messages in it, skipping
                        // this and every later one would stall the session. End the connection; the resume replays from inSeq.
                        reason = $"seq gap: expected {Volatile.Read(ref owner._inSeq) + 1}, got {ahead}; resuming for the replay";
                        owner.Error?.Invoke(new RelayClientError("seq_gap", reason, null));
                        break;
                    }

                    switch (frame.Type)
                    {
                        case "msg" when frame.Seq is { } seq:
                            if (seq == Volatile.Read(ref owner._inSeq) + 1)
                            {
                                Volatile.Write(ref _delivering, 1);
                                try
                                {
                                    await owner._inbox.Writer.WriteAsync(new ChatMessage(seq, frame.Room, frame.From, frame.Body ?? string.Empty), ct).ConfigureAwait(false);
                                }
                                finally
                                {
                                    Volatile.Write(ref _delivering, 0);
                                }

                                lock (owner._gate)
                                {
                                    owner._inSeq = seq;
                                }
                            }

                            AckSoon();
                            break;
                        case "error":
                            reason = frame.Message;
                            takenOver |= frame.Code == "session_taken_over";
                            owner.OnError(frame);
                            break;
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or ChannelClosedException)
            {
                reason ??= e.Message;
            }
            finally
            {
                lock (owner._gate)
                {
                    if (owner._connection == this)
                    {
                        owner._connection = null;
                    }
                }

                _wake.Writer.TryComplete();
                if (_ackTimer is not null)
                {
                    await _ackTimer.DisposeAsync().ConfigureAwait(false);
                }

                await cts.CancelAsync().ConfigureAwait(false);
                if (writer is not null)
                {
                    await writer.ConfigureAwait(false);
                }

                if (heartbeat is not null)
                {
                    await heartbeat.ConfigureAwait(false);
                }

                socket.Abort();
                socket.Dispose();
            }

            var lived = welcomed ? owner._options.TimeProvider.GetElapsedTime(welcomedAt) : TimeSpan.Zero;
            return new Outcome((int?)socket.CloseStatus, Volatile.Read(ref _deadReason) ?? socket.CloseStatusDescription ?? reason, welcomed, takenOver, lived);
        }

        /// <summary>
        /// Liveness (PROTOCOL.md): when nothing has arrived for <see cref="RelayClientOptions.Heartbeat"/>, a ping goes out;
        /// when nothing at all arrives within <see cref="RelayClientOptions.HeartbeatTimeout"/> after it, the path is dead:
        /// the socket is aborted (no close handshake to wait for) and the read loop ends as for a lost connection.
        /// </summary>
        private async Task HeartbeatLoopAsync(CancellationToken ct)
        {
            var options = owner._options;
            var time = options.TimeProvider;
            Volatile.Write(ref _lastReceivedAt, time.GetTimestamp());
            try
            {
                while (!ct.IsCancellationRequested)
                {
                    var idle = time.GetElapsedTime(Volatile.Read(ref _lastReceivedAt));
                    if (idle < options.Heartbeat || Volatile.Read(ref _delivering) != 0)
                    {
                        await Task.Delay(idle < options.Heartbeat ? options.Heartbeat - idle : options.Heartbeat, time, ct).ConfigureAwait(false);
                        continue;
                    }

                    long seen = Interlocked.Read(ref _received);
                    Volatile.Write(ref _pingDue, 1);
                    Wake();
                    await Task.Delay(options.HeartbeatTimeout, time, ct).ConfigureAwait(false);
                    if (Interlocked.Read(ref _received) == seen && Volatile.Read(ref _delivering) == 0)
                    {
                        Volatile.Write(ref _deadReason, $"nothing arrived for {(options.Heartbeat + options.HeartbeatTimeout).TotalSeconds:0.###} s (no pong): the connection is dead");
                        socket.Abort();
                        return;
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }

        private async Task WriteLoopAsync(CancellationToken ct)
        {
            var batch = new List<byte[]>();
            try
            {
                while (await _wake.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    _wake.Reader.TryRead(out _);
                    batch.Clear();
                    lock (owner._gate)
                    {
                        long ack = owner._inSeq;
                        foreach (var p in owner._pending)
                        {
                            if (p.Seq > _sentUpTo)
                            {
                                batch.Add(ClientFrames.Message(p.Seq, ack, p.Room, p.BodyJson));
                                _sentUpTo = p.Seq;
                            }
                        }

                        if (batch.Count == 0 && ack > _ackSentUpTo && (Volatile.Read(ref _ackArmed) == 0 || Volatile.Read(ref _unackedIn) >= 32))
                        {
                            batch.Add(ClientFrames.Ack(ack)); // on its own: the delayed ack's time is up (or 32 are waiting)
                        }

                        if (batch.Count > 0)
                        {
                            _ackSentUpTo = ack; // every message carries the ack
                            Volatile.Write(ref _unackedIn, 0);
                            if (Interlocked.Exchange(ref _ackArmed, 0) == 1)
                            {
                                _ackTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan); // acked: the next arrival arms a fresh delay
                            }
                        }
                    }

                    if (Interlocked.Exchange(ref _pingDue, 0) == 1)
                    {
                        batch.Add(ClientFrames.Ping(++_pingId)); // after the messages: no seq, no ack
                    }

                    await _sendLock.WaitAsync(ct).ConfigureAwait(false);
                    try
                    {
                        foreach (var bytes in batch)
                        {
                            await socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        _sendLock.Release();
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
            {
                socket.Abort();
            }
        }

        private async Task<ServerFrame?> ReceiveFrameAsync(CancellationToken ct)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(4096);
            int length = 0;
            try
            {
                while (true)
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length >= MaxInboundBytes)
                        {
                            socket.Abort();
                            return null;
                        }

                        var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }

                    var result = await socket.ReceiveAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                    Volatile.Write(ref _lastReceivedAt, owner._options.TimeProvider.GetTimestamp());
                    Interlocked.Increment(ref _received);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        try
                        {
                            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                            await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, string.Empty, timeout.Token).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
                        {
                        }

                        return null;
                    }

                    length += result.Count;
                    if (result.EndOfMessage)
                    {
                        var frame = ServerFrame.Parse(buffer.AsSpan(0, length));
                        if (frame is not null)
                        {
                            return frame;
                        }

                        length = 0;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
