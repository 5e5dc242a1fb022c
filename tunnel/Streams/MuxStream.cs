namespace Relay.Tunnel.Streams;

/// <summary>
/// One chat session carried over the backhaul: an ordered, reliable, flow-controlled sequence of
/// messages each way. Every data chunk and the close are numbered; what the peer has not
/// acknowledged is retained (at most one window) and resent after a re-attach on another link,
/// so link loss loses and duplicates nothing.
/// </summary>
/// <remarks>
/// One sender and one receiver at a time: <see cref="SendAsync"/> calls must not overlap, nor
/// must <see cref="ReceiveAsync"/> calls (as with a websocket).
/// </remarks>
public sealed partial class MuxStream
{
    private readonly IStreamOwner _owner;
    private readonly LinkOptions _options;

    // The stream's lock is this queue (private, never handed out): no object of its own per stream (issue 21, 24 B + a
    // reference on both sides of every session). "Under the lock" below means lock (_retained).
    private readonly Queue<SendItem> _retained = new();
    private TaskCompletionSource<StreamCloseInfo>? _completion; // made when first awaited: most streams end unobserved
    private StreamCloseInfo? _closeInfo;

    // Send side.
    private ulong _lastSeq;
    private long _bytesSent;
    private long _creditLimit = -1;

    /// <summary>The peer's window (its handshake's, clamped), set with the first credit: the most this side holds unacknowledged.</summary>
    private int _peerWindow;

    /// <summary>Payload bytes resent at re-attaches, for the resend budget (<see cref="MaxResendFactor"/>).</summary>
    private long _resentBytes;
    private long _retainedBytes;
    private TaskCompletionSource? _creditWaiter;
    private bool _localCloseQueued;
    private bool _localCloseAcked;
    private int _sending;

    // Receive side.
    private const int AckEveryFrames = 16;

    /// <summary>A stream's re-attaches may resend this many times everything it ever sent, plus one window (issue 21 review).</summary>
    private const int MaxResendFactor = 4;

    private const string ResendBudgetSpent = "stream re-attached too often without acknowledging what it was resent";
    private ulong _received;
    private ulong _ackedSeq;
    private ulong _quietMark; // the owner's heartbeat tick only (never re-entered): _received at the last tick
    private long _receivedBytes;
    private long _consumed;
    private long _advertised;
    private byte[]? _partial;
    private int _partialLength;
    private StreamCloseInfo? _remoteClose;

    // Placement.
    private Link? _link;
    private Link? _copyLink; // issue 22: where small frames are sent a second time (re-picked when it closes)
    private long _detachedAt;
    private bool _accepted;

    internal MuxStream(ulong id, OpenInfo info, bool isOpener, IStreamOwner owner, LinkOptions options)
    {
        Id = id;
        Info = info;
        IsOpener = isOpener;
        _owner = owner;
        _options = options;
        _advertised = options.StreamWindow;
        _detachedAt = options.TimeProvider.GetTimestamp();
        OpenedAt = _detachedAt;
    }

    /// <summary>Stream id, unique per relay.</summary>
    public ulong Id { get; }

    /// <summary>
    /// The metadata the stream was opened with. Its claims are dropped once nobody needs them (issue 21: a few hundred
    /// bytes per idle stream): on the opening side when the acceptor confirmed the OPEN (it is never re-sent after), on
    /// the accepting side when the owner calls <see cref="ReleaseClaims"/>. The session key, address and kind stay.
    /// </summary>
    public OpenInfo Info { get; private set; }

    /// <summary>Accepting side: the owner has read the OPEN's claims; the stream stops holding them.</summary>
    public void ReleaseClaims()
    {
        lock (_retained)
        {
            ReleaseClaimsLocked();
        }
    }

    /// <summary>Under the lock: <see cref="Info"/> without its claims.</summary>
    private void ReleaseClaimsLocked()
    {
        if (Info.Claims.Count > 0)
        {
            Info = Info with { Claims = OpenInfo.NoClaims };
        }
    }

    /// <summary>True on the relay side (the side that opened it).</summary>
    public bool IsOpener { get; }

    /// <summary>Where the stream stands.</summary>
    public StreamState State { get; private set; } = StreamState.Pending;

    /// <summary>Completes when the stream has ended, with the close code and reason.</summary>
    public Task<StreamCloseInfo> Completion
    {
        get
        {
            lock (_retained)
            {
                return _closeInfo is { } info ? Task.FromResult(info) : (_completion ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
        }
    }

    /// <summary>How the stream ended, once it has.</summary>
    public StreamCloseInfo? CloseInfo
    {
        get
        {
            lock (_retained)
            {
                return _closeInfo;
            }
        }
    }

    /// <summary>The largest message <see cref="SendAsync"/> takes (the link's <c>MaxMessageSize</c>).</summary>
    public int MaxMessageSize => _options.MaxMessageSize;

    /// <summary>The largest DATA payload (the link's <c>MaxChunkSize</c>): a message up to this size is one frame.</summary>
    public int MaxChunkSize => _options.MaxChunkSize;

    /// <summary>Bytes sent and not yet acknowledged by the peer (bounded by the peer's window).</summary>
    public long UnacknowledgedBytes => Volatile.Read(ref _retainedBytes);

    /// <summary>Relay id of the link owner on the accepting side (set by the listener).</summary>
    public string RelayId { get; internal set; } = string.Empty;

    /// <summary>Index of the core endpoint this stream is bound to (dialing side).</summary>
    internal int EndpointIndex { get; set; }

    /// <summary>Sent chunks (and a close) the peer has not acknowledged yet, kept for a resend (tests: issue 21).</summary>
    internal int RetainedCount
    {
        get
        {
            lock (_retained)
            {
                return _retained.Count;
            }
        }
    }

    internal Link? CurrentLink => _link;

    internal bool IsAccepted => _accepted;

    internal long DetachedAt => _detachedAt;

    /// <summary>Accepting side (issue 22): which of OPEN (1) and its copy OPEN_COPY (2) have arrived; the listener's.</summary>
    internal byte OpensSeen { get; set; }

    /// <summary>When this side made the stream (a timestamp of the options' time provider).</summary>
    internal long OpenedAt { get; }

    /// <summary>
    /// Sends one message, split into chunks, waiting for flow-control credit as needed. Returns false
    /// when the stream has ended or is closing (nothing is sent).
    /// </summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> message, bool isText, CancellationToken cancellationToken = default)
    {
        if (message.Length > _options.MaxMessageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(message), $"message of {message.Length} bytes exceeds MaxMessageSize {_options.MaxMessageSize}");
        }

        if (Interlocked.Exchange(ref _sending, 1) != 0)
        {
            throw new InvalidOperationException("SendAsync calls on one stream must not overlap.");
        }

        try
        {
            int offset = 0;
            do
            {
                int length = Math.Min(message.Length - offset, _options.MaxChunkSize);
                var flags = (isText ? DataFlags.Text : DataFlags.None) | (offset + length == message.Length ? DataFlags.EndOfMessage : DataFlags.None);
                while (true)
                {
                    Task wait;
                    lock (_retained)
                    {
                        if (State == StreamState.Closed || _localCloseQueued)
                        {
                            return false;
                        }

                        // Credit alone is the peer's word: an honest peer's credit never runs more than its window
                        // ahead of what it has acknowledged, so holding at most a window unacknowledged costs it
                        // nothing, and a peer that raises its credit without acknowledging cannot make this side
                        // retain without bound (tunnel/Protocol/README.md "Flow control").
                        if (_creditLimit >= 0 && _bytesSent + WindowCost(length) <= _creditLimit && (_retainedBytes == 0 || _retainedBytes + WindowCost(length) <= _peerWindow))
                        {
                            QueueData(flags, message.Span.Slice(offset, length));
                            break;
                        }

                        wait = (_creditWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
                    }

                    await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
                }

                offset += length;
            }
            while (offset < message.Length);
            return true;
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
        }
    }

    /// <summary>
    /// Closes the stream reliably: the close is numbered after all data sent, survives link loss,
    /// and the peer answers with its own close. Idempotent.
    /// </summary>
    public void Close(int code, string reason)
    {
        lock (_retained)
        {
            if (State == StreamState.Closed || _localCloseQueued)
            {
                return;
            }

            QueueClose(code, reason);
        }
    }

    /// <summary>Ends the stream at once (a reset): the peer gets a refusal and nothing more is delivered.</summary>
    public void Abort(int code, string reason)
    {
        Link? link;
        lock (_retained)
        {
            if (State == StreamState.Closed)
            {
                return;
            }

            link = _link;
        }

        link?.Enqueue(new Outgoing(FrameKind.Refuse, Id, code: code, body: reason));
        Terminate(new StreamCloseInfo(code, reason, ByPeer: false));
    }

    /// <inheritdoc />
    public override string ToString()
    {
        lock (_retained)
        {
            return $"stream {Id} ({State}, accepted={_accepted}, link={_link?.Name ?? "-"}, sent={_lastSeq}/{_bytesSent}B credit={_creditLimit} retained={_retained.Count}, received={_received}/{_receivedBytes}B consumed={_consumed} advertised={_advertised})";
        }
    }

    private readonly record struct SendItem(ulong Seq, DataFlags Flags, byte[]? Buffer, int Length, bool IsClose, int Code, string? Reason)
    {
        public Outgoing ToFrame(ulong streamId) => IsClose
            ? new Outgoing(FrameKind.Close, streamId, Seq, code: Code, body: Reason)
            : new Outgoing(FrameKind.Data, streamId, Seq, flags: Flags, payload: Buffer.AsMemory(0, Length));
    }
}
