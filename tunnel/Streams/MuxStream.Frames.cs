using System.Buffers;

namespace Relay.Tunnel.Streams;

public sealed partial class MuxStream
{
    // All methods here run under the lock or take it; they are called from link read loops and the owner.

    private void QueueData(DataFlags flags, ReadOnlySpan<byte> chunk)
    {
        byte[]? buffer = chunk.Length == 0 ? null : RetainedBuffers.Rent(chunk.Length);
        chunk.CopyTo(buffer);
        var item = new SendItem(++_lastSeq, flags, buffer, chunk.Length, false, 0, null);
        _bytesSent += WindowCost(chunk.Length);
        _retainedBytes += WindowCost(chunk.Length);
        _retained.Enqueue(item);
        if (State == StreamState.Attached)
        {
            var frame = item.ToFrame(Id);
            var link = _link!;
            link.Enqueue(frame);
            if (chunk.Length <= _options.DuplicateFramesUpTo && link.IsFar && CopyLink() is { } copy && copy.Enqueue(frame))
            {
                copy.Metrics.CopySent(chunk.Length);
            }
        }
    }

    /// <summary>
    /// Under the lock: the second link for copies of small frames (issue 22; only while the stream's link is far, issue 21), or null. The copy shares the retained
    /// buffer: when the peer acknowledges the frame before the copy is written, the buffer may be reused and the copy's
    /// bytes garbage, but its seq is then one the peer holds, and a receiver drops it unread.
    /// </summary>
    private Link? CopyLink()
    {
        if (_copyLink is { IsOpen: true } copy && copy != _link)
        {
            return copy;
        }

        return _copyLink = _owner.CopyLinkFor(this, _link!);
    }

    private void QueueClose(int code, string reason)
    {
        _localCloseQueued = true;
        var item = new SendItem(++_lastSeq, 0, null, 0, true, code, reason);
        _retained.Enqueue(item);
        if (State == StreamState.Attached)
        {
            _link!.Enqueue(item.ToFrame(Id));
        }

        SignalCredit();
    }

    /// <summary>
    /// What a DATA frame of <paramref name="length"/> payload bytes (or a message of that length) costs of the window: its
    /// length, and one byte for an empty one. Empty messages were free (a review): a peer could queue them on a stream
    /// whose application did not read, without bound. Both sides count the same, so an honest sender never passes the
    /// receiver's window with them (tunnel/Protocol/README.md, "Flow control").
    /// </summary>
    private static int WindowCost(int length) => Math.Max(length, 1);

    private void ConsumedLocked(int length)
    {
        _consumed += WindowCost(length);
        long limit = _consumed + _options.StreamWindow;
        bool credit = limit - _advertised >= _options.StreamWindow / 4;
        if (credit || _received - _ackedSeq >= AckEveryFrames)
        {
            // More credit every quarter window; and a receipt every 16 frames, so the sender's retained copies
            // (one pooled buffer per small message) are released long before a window of them piles up.
            if (credit)
            {
                _advertised = limit;
            }

            if (State is StreamState.Attached or StreamState.Attaching)
            {
                _ackedSeq = _received;
                _link!.Enqueue(new Outgoing(FrameKind.Ack, Id, _received, (ulong)_advertised));
            }
        }
    }

    /// <summary>
    /// The owner's heartbeat tick (every 250 ms, one thread at a time): a receipt for a stream whose receive side has gone
    /// quiet with frames not yet acknowledged. Receipts otherwise go every 16 frames (or with credit), so an idle stream
    /// kept its peer's last few messages retained (a pooled buffer and a queue slot each) until it spoke again: with a
    /// client's liveness ping every 5 s, up to 15 pings on the relay and 15 pongs on the core per idle session (issue 21,
    /// bench/README.md "Issue 21: memory per idle session"). A stream that received anything since the previous tick is
    /// left to the 16-frame rule, so a busy stream gets no extra frames; a quiet one gets its receipt within two ticks.
    /// </summary>
    internal void ReceiptIfQuiet()
    {
        ulong received = Volatile.Read(ref _received);
        if (received == Volatile.Read(ref _ackedSeq) || received != _quietMark)
        {
            _quietMark = received;
            return;
        }

        lock (_retained)
        {
            if (_received > _ackedSeq && _received == _quietMark && State is StreamState.Attached or StreamState.Attaching)
            {
                _ackedSeq = _received;
                _link!.Enqueue(new Outgoing(FrameKind.Ack, Id, _received, (ulong)_advertised));
            }
        }
    }

    /// <summary>A DATA frame from <paramref name="link"/>. False: protocol violation.</summary>
    internal bool OnData(Link link, in Frame frame)
    {
        var outcome = DeliverOutcome.Queued;
        lock (_retained)
        {
            if (State == StreamState.Closed || frame.Seq <= _received)
            {
                return true; // ended, or a duplicate (a resend after a re-attach, or the slower of two copies)
            }

            if (link != _link)
            {
                // Another link than the stream's: a copy of a small frame (issue 22) or a frame left on a stale link. The
                // seq says what it is, wherever it came from: taken when it is the next one, else dropped (the stream's own
                // link brings it in order; only the frames up to DuplicateFramesUpTo are copied, so a copy may run ahead).
                if (frame.Seq != _received + 1)
                {
                    return true;
                }

                link.Metrics.CopyFirst();
            }

            int length = (int)frame.Payload.Length;
            bool end = (frame.Flags & DataFlags.EndOfMessage) != 0;
            if (frame.Seq != _received + 1 || _remoteClose is not null
                || (length == 0 && !end) // carries nothing and ends nothing: never sent (an empty chunk is an empty message)
                || _receivedBytes + WindowCost(length) > _advertised
                || _partialLength + length > _options.MaxMessageSize)
            {
                return false;
            }

            _received = frame.Seq;
            _receivedBytes += WindowCost(length);
            if (_partial is null && end)
            {
                var buffer = length == 0 ? [] : RetainedBuffers.Rent(length);
                frame.Payload.CopyTo(buffer);
                outcome = DeliverLocked(new StreamMessage(Type(frame.Flags), buffer, length));
            }
            else
            {
                if (_partial is null || _partial.Length < _partialLength + length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent(Math.Max(_partialLength + length, Math.Min(_options.MaxMessageSize, (_partialLength + length) * 2)));
                    if (_partial is not null)
                    {
                        _partial.AsSpan(0, _partialLength).CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(_partial);
                    }

                    _partial = grown;
                }

                frame.Payload.CopyTo(_partial.AsSpan(_partialLength));
                _partialLength += length;
                if (end)
                {
                    outcome = DeliverLocked(new StreamMessage(Type(frame.Flags), _partial, _partialLength));
                    _partial = null;
                    _partialLength = 0;
                }
            }
        }

        AfterDeliver(outcome);
        return true;

        static StreamMessageType Type(DataFlags flags) => (flags & DataFlags.Text) != 0 ? StreamMessageType.Text : StreamMessageType.Binary;
    }

    /// <summary>A CLOSE frame: numbered like data, delivered after it.</summary>
    internal bool OnClose(Link link, in Frame frame)
    {
        bool finished;
        lock (_retained)
        {
            if (State == StreamState.Closed || link != _link || frame.Seq <= _received)
            {
                return true;
            }

            if (frame.Seq != _received + 1 || _partial is not null)
            {
                return false;
            }

            _received = frame.Seq;
            _remoteClose = new StreamCloseInfo(frame.Code, frame.Reason, ByPeer: true);
            CompleteInboxLocked();
            link.Enqueue(new Outgoing(FrameKind.Ack, Id, _received, (ulong)_advertised));
            if (!_localCloseQueued)
            {
                QueueClose(frame.Code, frame.Reason);
            }

            finished = _localCloseAcked;
        }

        if (finished)
        {
            Terminate(_remoteClose);
        }

        return true;
    }

    /// <summary>An ACK: the peer holds everything up to Seq and grants credit up to Value.</summary>
    internal bool OnAck(Link link, in Frame frame)
    {
        bool finished;
        lock (_retained)
        {
            if (State == StreamState.Closed || link != _link)
            {
                return true;
            }

            if (frame.Seq > _lastSeq)
            {
                return false; // acknowledges what was never sent
            }

            ReleaseAcknowledged(frame.Seq);
            GrantCredit((long)frame.Value);
            finished = _localCloseAcked && _remoteClose is not null;
        }

        if (finished)
        {
            Terminate(_remoteClose!);
        }

        return true;
    }

    internal void OnAccepted()
    {
        lock (_retained)
        {
            _accepted = true;
            ReleaseClaimsLocked(); // the OPEN is not re-sent after this (issue 21)
        }
    }

    /// <summary>Dialing side: place a stream the acceptor has not confirmed: (re)send OPEN, then everything retained.</summary>
    internal void PlaceOpen(Link link)
    {
        lock (_retained)
        {
            if (State == StreamState.Closed)
            {
                return;
            }

            _link = link;
            link.AddStream();
            if (_creditLimit < 0)
            {
                _creditLimit = link.PeerWindow;
                _peerWindow = link.PeerWindow;
            }

            link.Enqueue(new Outgoing(FrameKind.Open, Id, body: Info));

            // Issue 22: on a far link the OPEN goes on a second link too (as small DATA frames do), so one lost packet
            // does not hold the stream's start for a retransmission: the core opens the stream from whichever comes
            // first and keeps it on the link the original came on (tunnel/Protocol/README.md "Open copy").
            var copy = _options.DuplicateFramesUpTo > 0 && link.IsFar ? CopyLink() : null;
            if (copy is not null && !copy.Enqueue(new Outgoing(FrameKind.OpenCopy, Id, body: Info)))
            {
                copy = null;
            }

            copy?.Metrics.OpenCopy();

            foreach (var item in _retained)
            {
                var frame = item.ToFrame(Id);
                link.Enqueue(frame);
                if (copy is not null && !item.IsClose && item.Length <= _options.DuplicateFramesUpTo && copy.Enqueue(frame))
                {
                    copy.Metrics.CopySent(item.Length);
                }
            }

            State = StreamState.Attached;
            SignalCredit();
        }
    }

    /// <summary>Dialing side: ask the acceptor to re-attach this stream on <paramref name="link"/>.</summary>
    internal void BeginAttach(Link link)
    {
        lock (_retained)
        {
            if (State == StreamState.Closed)
            {
                return;
            }

            _link = link;
            link.AddStream();
            State = StreamState.Attaching;
            link.Enqueue(new Outgoing(FrameKind.Attach, Id, _received, (ulong)_advertised));
        }
    }

    /// <summary>Dialing side: the acceptor re-attached the stream and holds everything up to Seq.</summary>
    internal bool OnAttached(Link link, in Frame frame)
    {
        bool finished;
        lock (_retained)
        {
            if (State != StreamState.Attaching || link != _link)
            {
                return true;
            }

            if (frame.Seq > _lastSeq)
            {
                return false;
            }

            _accepted = true;
            ReleaseAcknowledged(frame.Seq);
            GrantCredit((long)frame.Value);
            finished = ResendRetained(link);
        }

        return EndIfFinished(finished);
    }

    /// <summary>Accepting side: first placement of a new stream.</summary>
    internal void PlaceAccepted(Link link)
    {
        lock (_retained)
        {
            _link = link;
            link.AddStream();
            _creditLimit = link.PeerWindow;
            _peerWindow = link.PeerWindow;
            _accepted = true;
            State = StreamState.Attached;
            link.Enqueue(new Outgoing(FrameKind.Accept, Id));
        }
    }

    /// <summary>
    /// Accepting side: the opener re-attached (ATTACH, or OPEN again when it never saw our ACCEPT).
    /// The peer holds our items up to <paramref name="peerReceived"/>; resend the rest. <paramref name="reattach"/> false:
    /// not a re-attach but the original OPEN arriving after its copy (issue 22), which moves the stream to its link.
    /// </summary>
    internal bool AcceptAttach(Link link, ulong peerReceived, long peerCredit, bool reopen, bool reattach = true)
    {
        bool finished;
        bool refused = false;
        lock (_retained)
        {
            if (State == StreamState.Closed)
            {
                return true;
            }

            if (peerReceived > _lastSeq)
            {
                return false;
            }

            if (reattach && !reopen && _link == link)
            {
                // An ATTACH on the link the stream is on: nothing was lost on it. Answering would resend all the stream
                // holds, so a relay could make the core send it again and again for 13 bytes each (a review found it).
                return true;
            }

            ReleaseAcknowledged(peerReceived);
            if (reattach && !TakeResendBudget())
            {
                link.Enqueue(new Outgoing(FrameKind.Refuse, Id, code: StreamCodes.BackhaulLost, body: ResendBudgetSpent));
                refused = true;
                finished = false;
            }
            else
            {
                if (_link != link)
                {
                    _link?.RemoveStream();
                    _link = link;
                    link.AddStream();
                }

                GrantCredit(peerCredit);
                _advertised = Math.Max(_advertised, _consumed + _options.StreamWindow);
                if (reopen)
                {
                    // ACCEPT carries no credit: follow it with what we hold and the credit we grant,
                    // which the opener may have missed with the dead link.
                    link.Enqueue(new Outgoing(FrameKind.Accept, Id));
                    link.Enqueue(new Outgoing(FrameKind.Ack, Id, _received, (ulong)_advertised));
                }
                else
                {
                    link.Enqueue(new Outgoing(FrameKind.Attached, Id, _received, (ulong)_advertised));
                }

                finished = ResendRetained(link, reattach);
            }
        }

        if (refused)
        {
            Terminate(new StreamCloseInfo(StreamCodes.BackhaulLost, ResendBudgetSpent, ByPeer: false));
            return true;
        }

        return EndIfFinished(finished);
    }

    /// <summary>
    /// Under the lock, at a re-attach: counts what it resends, and false once a stream's resends pass
    /// <see cref="MaxResendFactor"/> times everything it ever sent plus one window. An honest peer re-attaches after a
    /// lost link and acknowledges what it then receives, so resends stay a fraction of that; a peer moving a stream
    /// between live links without acknowledging (13 bytes for up to a window each) is cut off.
    /// </summary>
    private bool TakeResendBudget()
    {
        _resentBytes += _retainedBytes;
        return _resentBytes <= (MaxResendFactor * _bytesSent) + _peerWindow;
    }

    /// <summary>
    /// Under the lock, once re-attached to <paramref name="link"/>: resends every item the peer has not acknowledged
    /// and marks the stream attached. Returns true when both closes are done, so the stream can end.
    /// </summary>
    private bool ResendRetained(Link link, bool reattach = true)
    {
        foreach (var item in _retained)
        {
            link.Enqueue(item.ToFrame(Id));
        }

        State = StreamState.Attached;
        if (reattach)
        {
            link.Metrics.StreamReattached();
        }

        return _localCloseAcked && _remoteClose is not null;
    }

    /// <summary>Outside the lock: ends a re-attached stream whose closes were both done. Returns true (the frame was valid).</summary>
    private bool EndIfFinished(bool finished)
    {
        if (finished)
        {
            Terminate(_remoteClose!);
        }

        return true;
    }

    /// <summary>The stream's link died. Returns true when the stream was on it and is now detached.</summary>
    internal bool Detach(Link link)
    {
        lock (_retained)
        {
            if (_link != link || State == StreamState.Closed)
            {
                return false;
            }

            _link = null;
            link.RemoveStream();
            State = _accepted || !IsOpener ? StreamState.Detached : StreamState.Pending;
            _detachedAt = _options.TimeProvider.GetTimestamp();
            return true;
        }
    }

    /// <summary>Ends the stream now. Idempotent; the first close info wins.</summary>
    internal void Terminate(StreamCloseInfo info)
    {
        Link? link;
        TaskCompletionSource<StreamCloseInfo>? completion;
        lock (_retained)
        {
            if (State == StreamState.Closed)
            {
                return;
            }

            State = StreamState.Closed;
            _closeInfo = info;
            completion = _completion;
            link = _link;
            _link = null;
            CompleteInboxLocked();
            SignalCredit();

            // Retained buffers may still be referenced by a link's write queue: leave them to the GC.
            _retained.Clear();
            _retainedBytes = 0;
            if (_partial is not null)
            {
                ArrayPool<byte>.Shared.Return(_partial);
                _partial = null;
            }
        }

        link?.RemoveStream();
        completion?.TrySetResult(info);
        _owner.OnStreamFinished(this);
    }

    private void ReleaseAcknowledged(ulong seq)
    {
        bool released = false;
        while (_retained.TryPeek(out var item) && item.Seq <= seq)
        {
            _retained.Dequeue();
            if (item.IsClose)
            {
                _localCloseAcked = true;
            }
            else
            {
                _retainedBytes -= WindowCost(item.Length);
                if (item.Buffer is not null)
                {
                    RetainedBuffers.Return(item.Buffer);
                }

                released = true;
            }
        }

        if (released && _creditWaiter is not null)
        {
            SignalCredit(); // a sender may wait for room under the window as well as for credit
        }
    }

    private void GrantCredit(long limit)
    {
        if (limit > _creditLimit)
        {
            _creditLimit = limit;
            SignalCredit();
        }
    }

    private void SignalCredit()
    {
        var waiter = _creditWaiter;
        _creditWaiter = null;
        waiter?.TrySetResult();
    }
}
