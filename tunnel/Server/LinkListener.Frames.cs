using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Server;

public sealed partial class LinkListener
{
    private const byte OpenSeen = 1;
    private const byte OpenCopySeen = 2;

    /// <summary>How long an ended stream's id is kept against a late OPEN or OPEN_COPY (issue 22).</summary>
    private TimeSpan EndedStreamKeep => 2 * _options.Link.DeadLinkTimeout;

    bool ILinkOwner.OnStreamFrame(Link link, in Frame frame)
    {
        if (!_relays.TryGetValue(link.PeerId, out var relay))
        {
            return false;
        }

        relay.Streams.TryGetValue(frame.StreamId, out var stream);
        switch (frame.Kind)
        {
            case FrameKind.Open or FrameKind.OpenCopy:
                return OnOpen(relay, link, in frame);
            case FrameKind.Attach:
                if (stream is null)
                {
                    link.Enqueue(new Outgoing(FrameKind.Refuse, frame.StreamId, code: StreamCodes.BackhaulLost, body: "stream unknown to the core or its grace period expired"));
                    return true;
                }

                return stream.AcceptAttach(link, frame.Seq, (long)frame.Value, reopen: false);
            case FrameKind.Data:
                return stream is null || stream.OnData(link, in frame);
            case FrameKind.Ack:
                return stream is null || stream.OnAck(link, in frame);
            case FrameKind.Close:
                return stream is null || stream.OnClose(link, in frame);
            case FrameKind.Refuse:
                stream?.Terminate(new StreamCloseInfo(frame.Code, frame.Reason, ByPeer: true));
                return true;
            default:
                return false; // ACCEPT and ATTACHED travel core → relay only
        }
    }

    /// <summary>
    /// OPEN, or its copy OPEN_COPY (issue 22, sent on a second link while the stream's link is far). The first to arrive
    /// opens the stream, on its link. A copy for a stream the core holds is ignored: the original came first (the stream
    /// is on the link the relay chose) or will come. The original for a stream its copy opened moves the stream to the
    /// relay's link (ACCEPT, ACK and a resend there, as a re-open: the relay ignored what went on the copy's link but
    /// copies). An original for a stream that came with its original before is a re-open (the relay never saw ACCEPT).
    /// </summary>
    private bool OnOpen(RelayState relay, Link link, in Frame frame)
    {
        bool copy = frame.Kind == FrameKind.OpenCopy;
        lock (relay.OpenGate)
        {
            if (copy)
            {
                _metrics.OpenCopy();
            }

            if (relay.Streams.TryGetValue(frame.StreamId, out var stream))
            {
                byte seen = stream.OpensSeen;
                stream.OpensSeen |= copy ? OpenCopySeen : OpenSeen;
                if (copy)
                {
                    return true;
                }

                if ((seen & OpenSeen) == 0)
                {
                    return stream.AcceptAttach(link, 0, 0, reopen: true, reattach: false);
                }

                // The relay never saw our ACCEPT: same stream, opened again on another link.
                return stream.AcceptAttach(link, 0, 0, reopen: true);
            }

            if (relay.IsEnded(frame.StreamId))
            {
                // The late other half of a stream that has ended: never a second stream of one id.
                if (!copy)
                {
                    link.Enqueue(new Outgoing(FrameKind.Refuse, frame.StreamId, code: StreamCodes.BackhaulLost, body: "stream already ended"));
                }

                return true;
            }

            var info = (OpenInfo)frame.Body!;
            if (!info.WithinLimits())
            {
                // The core keeps the session key and address for the stream's life: a relay cannot make it hold 256 KiB a stream.
                link.Enqueue(new Outgoing(FrameKind.Refuse, frame.StreamId, code: StreamCodes.PolicyViolation, body: $"OPEN's strings hold more than {OpenInfo.MaxChars} characters"));
                return true;
            }

            if (RefuseNewStreams || _stopping.IsCancellationRequested)
            {
                link.Enqueue(new Outgoing(FrameKind.Refuse, frame.StreamId, code: StreamCodes.TryAgainLater, body: "core refuses new streams"));
                return true;
            }

            if (relay.OpenStreams >= _options.MaxStreamsPerRelay)
            {
                // One relay (its key stolen, or a bug that never closes) cannot fill the core with streams.
                link.Enqueue(new Outgoing(FrameKind.Refuse, frame.StreamId, code: StreamCodes.TryAgainLater, body: $"the relay holds {_options.MaxStreamsPerRelay} streams, the most the core takes from one relay"));
                return true;
            }

            stream = new MuxStream(frame.StreamId, info, isOpener: false, this, _options.Link) { RelayId = relay.RelayId, OpensSeen = copy ? OpenCopySeen : OpenSeen };
            relay.Streams[frame.StreamId] = stream;
            relay.OpenStreams++;
            _metrics.StreamOpened();
            if (copy)
            {
                _metrics.OpenFromCopy();
            }

            stream.PlaceAccepted(link);
            _accepted.Writer.TryWrite(stream);
            return true;
        }
    }

    void ILinkOwner.OnControlFrame(Link link, in Frame frame)
    {
        if (frame.Kind != FrameKind.HealthReport)
        {
            return;
        }

        try
        {
            HealthReportReceived?.Invoke(link.PeerId, frame.Payload.ToArray());
        }
        catch (Exception ex)
        {
            Log.HealthHandlerFailed(_logger, link.PeerId, ex);
        }
    }

    void ILinkOwner.OnLinkClosed(Link link, LinkCloseReason reason)
    {
        if (!_relays.TryGetValue(link.PeerId, out var relay))
        {
            return;
        }

        bool last = relay.RemoveLink(link);
        foreach (var stream in relay.Streams.Values)
        {
            stream.Detach(link);
        }

        if (last)
        {
            RelayChanged?.Invoke(relay.RelayId);
        }
    }

    Link? IStreamOwner.CopyLinkFor(MuxStream stream, Link primary)
    {
        if (!_relays.TryGetValue(stream.RelayId, out var relay))
        {
            return null;
        }

        var links = relay.LinksSnapshot();
        int start = links.Count == 0 ? 0 : (int)(stream.Id % (ulong)links.Count);
        for (int i = 0; i < links.Count; i++)
        {
            if (links[(start + i) % links.Count] is { IsOpen: true, IsDraining: false } link && link != primary)
            {
                return link;
            }
        }

        return null;
    }

    void IStreamOwner.OnStreamFinished(MuxStream stream)
    {
        if (!_relays.TryGetValue(stream.RelayId, out var relay))
        {
            return;
        }

        lock (relay.OpenGate)
        {
            if (!relay.Streams.TryRemove(stream.Id, out _))
            {
                return;
            }

            relay.OpenStreams--;

            // The other of OPEN and OPEN_COPY may still come (only while young: a link that brings nothing for
            // DeadLinkTimeout is closed, and what it held with it). Remember the id, so it opens nothing.
            var time = _options.Link.TimeProvider;
            long now = time.GetTimestamp();
            if (stream.OpensSeen != (OpenSeen | OpenCopySeen) && time.GetElapsedTime(stream.OpenedAt, now) < EndedStreamKeep)
            {
                relay.AddEnded(stream.Id, now);
            }
        }

        _metrics.StreamClosed();
    }
}
