using System.Threading.Tasks.Sources;

namespace Relay.Tunnel.Streams;

/// <summary>
/// The receive side's queue: whole messages the link delivered and the owner has not taken yet. No channel per
/// stream: a queue allocated on the first message that has to wait, and one reusable waiter (the stream itself is
/// the <see cref="IValueTaskSource{TResult}"/>), so an idle stream holds no queue and a wait allocates nothing.
/// Everything here runs under the lock or takes it.
/// </summary>
public sealed partial class MuxStream : IValueTaskSource<StreamMessage>
{
    private Queue<StreamMessage>? _inbox;
    private long _inboxBytes;
    private bool _inboxCompleted;
    private bool _receiving;
    private ManualResetValueTaskSourceCore<StreamMessage> _receiveSignal = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _receiveCancellation;
    private long _receiveLimit = long.MaxValue;
    private Action<object>? _receiveLimitExceeded;
    private StreamMessage _handoff;
    private object? _receiveLimitState;

    /// <summary>
    /// When true, a receive that was waiting continues on the link's read loop that delivered the message, instead of
    /// being queued to the thread pool: one thread-pool hop less per message. Only for owners whose code after a
    /// receive does not block (the gateway's pump hands the message to a websocket and waits asynchronously).
    /// Set before the first receive.
    /// </summary>
    public bool InlineReceiveContinuations { get; set; }

    /// <summary>Bytes delivered by the peer that the owner has not taken with <see cref="ReceiveAsync"/> yet.</summary>
    public long ReceiveBufferedBytes => Volatile.Read(ref _inboxBytes);

    /// <summary>
    /// Calls <paramref name="exceeded"/>(<paramref name="state"/>) once, from the link's read loop, when more than
    /// <paramref name="bytes"/> wait untaken in this stream's receive queue (the owner's consumer is slower than the
    /// peer's sender). The stream's window bounds the queue anyway; this lets the owner act on a lower bound (the
    /// gateway closes a slow websocket client with 1013). The callback must not block.
    /// </summary>
    public void SetReceiveLimit(long bytes, Action<object> exceeded, object state)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        lock (_retained)
        {
            _receiveLimit = bytes;
            _receiveLimitExceeded = exceeded;
            _receiveLimitState = state;
        }
    }

    /// <summary>
    /// The owner takes no more messages: what is queued can still be received, then <see cref="ReceiveAsync"/>
    /// returns the end of the stream (at once, waking a pending receive); later messages from the peer are dropped
    /// (and credited, so the peer is not stalled). Use it while closing: the stream's close still goes both ways.
    /// </summary>
    public void StopReceiving()
    {
        lock (_retained)
        {
            if (!_inboxCompleted)
            {
                CompleteInboxLocked();
            }
        }
    }

    /// <summary>The close the peer sent, once it has (before the stream has fully ended).</summary>
    public StreamCloseInfo? RemoteClose
    {
        get
        {
            lock (_retained)
            {
                return _remoteClose;
            }
        }
    }

    /// <summary>
    /// Receives the next whole message, or a message of type <see cref="StreamMessageType.Close"/>
    /// once the stream has ended. Dispose each message when done with it.
    /// </summary>
    public ValueTask<StreamMessage> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        lock (_retained)
        {
            if (_receiving)
            {
                throw new InvalidOperationException("ReceiveAsync calls on one stream must not overlap.");
            }

            if (_inbox is { Count: > 0 })
            {
                var message = _inbox.Dequeue();
                _inboxBytes -= message.Data.Length;
                ConsumedLocked(message.Data.Length);
                return new ValueTask<StreamMessage>(message);
            }

            if (_inboxCompleted)
            {
                return new ValueTask<StreamMessage>(StreamMessage.Closed);
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled<StreamMessage>(cancellationToken);
            }

            _receiving = true;
            _receiveSignal.Reset();
            _receiveSignal.RunContinuationsAsynchronously = !InlineReceiveContinuations;
            short version = _receiveSignal.Version;
            if (cancellationToken.CanBeCanceled)
            {
                _receiveCancellation = cancellationToken.UnsafeRegister(static (state, token) => ((MuxStream)state!).CancelReceive(token), this);
            }

            return new ValueTask<StreamMessage>(this, version);
        }
    }

    /// <summary>
    /// A whole message from the peer (under the lock): to the waiting receiver, or queued. After releasing the
    /// lock the caller calls <see cref="AfterDeliver"/> with what this returned (a waiting receiver is woken outside
    /// the lock, so an inline continuation never runs under it).
    /// </summary>
    private DeliverOutcome DeliverLocked(StreamMessage message)
    {
        if (_inboxCompleted)
        {
            ConsumedLocked(message.Data.Length);
            message.Dispose();
            return DeliverOutcome.Queued;
        }

        if (_receiving)
        {
            _receiving = false;
            _receiveCancellation.Unregister(); // not Dispose: it would wait for a running callback that waits for the lock
            _receiveCancellation = default;
            ConsumedLocked(message.Data.Length);
            _handoff = message;
            return DeliverOutcome.WakeReceiver;
        }

        (_inbox ??= new Queue<StreamMessage>(4)).Enqueue(message);
        _inboxBytes += message.Data.Length;
        if (_inboxBytes > _receiveLimit && _receiveLimitExceeded is not null)
        {
            _receiveLimit = long.MaxValue; // once
            return DeliverOutcome.LimitExceeded;
        }

        return DeliverOutcome.Queued;
    }

    /// <summary>Outside the lock: wakes the receiver <see cref="DeliverLocked"/> chose, or tells the owner its limit passed.</summary>
    private void AfterDeliver(DeliverOutcome outcome)
    {
        if (outcome == DeliverOutcome.WakeReceiver)
        {
            var message = _handoff;
            _handoff = default;
            _receiveSignal.SetResult(message); // may run the receiver's continuation here, on the link's read loop
        }
        else if (outcome == DeliverOutcome.LimitExceeded)
        {
            _receiveLimitExceeded!.Invoke(_receiveLimitState!);
        }
    }

    private enum DeliverOutcome : byte
    {
        Queued,
        WakeReceiver,
        LimitExceeded,
    }

    /// <summary>No more messages will come (under the lock): queued ones are still received, then the end.</summary>
    private void CompleteInboxLocked()
    {
        _inboxCompleted = true;
        if (_receiving)
        {
            _receiving = false;
            _receiveCancellation.Unregister();
            _receiveCancellation = default;
            _receiveSignal.RunContinuationsAsynchronously = true; // under the lock: never inline
            _receiveSignal.SetResult(StreamMessage.Closed);
        }
    }

    private void CancelReceive(CancellationToken token)
    {
        lock (_retained)
        {
            if (_receiving)
            {
                _receiving = false;
                _receiveCancellation = default;
                _receiveSignal.RunContinuationsAsynchronously = true; // under the lock: never inline
                _receiveSignal.SetException(new OperationCanceledException(token));
            }
        }
    }

    StreamMessage IValueTaskSource<StreamMessage>.GetResult(short token) => _receiveSignal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<StreamMessage>.GetStatus(short token) => _receiveSignal.GetStatus(token);

    void IValueTaskSource<StreamMessage>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _receiveSignal.OnCompleted(continuation, state, token, flags);
}
