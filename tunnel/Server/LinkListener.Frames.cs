using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Server;

public sealed partial class LinkListener
{
    bool ILinkOwner.OnStreamFrame(Link link, in Frame frame)
    {
        if (!_relays.TryGetValue(link.PeerId, out var relay))
        {
            return false;
        }

        relay.Streams.TryGetValue(frame.StreamId, out var stream);
        switch (frame.Kind)
        {
            case FrameKind.Open:
                if (stream is not null)
                {
                    // The relay never saw our ACCEPT: same stream, opened again on another link.
                    return stream.AcceptAttach(link, 0, 0, reopen: true);
                }

                if (RefuseNewStreams || _stopping.IsCancellationRequested)
                {
                    link.Enqueue(new Outgoing(FrameKind.Refuse, frame.StreamId, code: StreamCodes.TryAgainLater, body: "core refuses new streams"));
                    return true;
                }

                stream = new MuxStream(frame.StreamId, (OpenInfo)frame.Body!, isOpener: false, this, _options.Link) { RelayId = relay.RelayId };
                relay.Streams[frame.StreamId] = stream;
                _metrics.StreamOpened();
                stream.PlaceAccepted(link);
                _accepted.Writer.TryWrite(stream);
                return true;
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
        if (_relays.TryGetValue(stream.RelayId, out var relay) && relay.Streams.TryRemove(stream.Id, out _))
        {
            _metrics.StreamClosed();
        }
    }
}
