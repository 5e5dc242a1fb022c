using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Pool;

public sealed partial class LinkPool
{
    private async Task RunSlotAsync(int endpoint, int slot)
    {
        var token = _stopping.Token;
        var address = LinkTransport.ParseEndPoint(_endpointNames[endpoint]);
        string name = $"{_endpointNames[endpoint]}#{slot}";
        int attempt = 0;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var connection = _options.Connect is { } connect
                    ? await connect(address, token).ConfigureAwait(false)
                    : await LinkTransport.ConnectAsync(address, _options.Link, _options.ConnectTimeout, token).ConfigureAwait(false);
                LinkHandshake.Result result;

                // The timer starts before the hello goes out, so a peer that saw the hello knows the clock runs.
                using (var timeout = new CancellationTokenSource(_options.Link.HandshakeTimeout, _options.Link.TimeProvider))
                using (var handshake = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token))
                {
                    try
                    {
                        result = await LinkHandshake.DialAsync(connection, _options.Link, _options.RelayId, _options.Region, handshake.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (timeout.IsCancellationRequested && !token.IsCancellationRequested)
                    {
                        LinkTransport.Close(connection);
                        throw new TimeoutException("handshake timed out");
                    }
                    catch
                    {
                        LinkTransport.Close(connection);
                        throw;
                    }
                }

                if (!result.Ok)
                {
                    LinkTransport.Close(connection);
                    if (result.Failure == LinkCloseReason.AuthenticationFailed)
                    {
                        Log.AuthenticationFailed(_logger, name, result.Error);
                    }
                    else
                    {
                        Log.HandshakeFailed(_logger, name, result.Error);
                    }
                }
                else
                {
                    var link = new Link(connection, this, _options.Link, _logger, result.PeerId, _options.Region, result.PeerWindow, name, connection as IDisposable);
                    Interlocked.Exchange(ref _slots[endpoint][slot], link); // a full fence: the stop below is read after the slot is set
                    link.Start();
                    if (token.IsCancellationRequested)
                    {
                        // The pool stopped while this handshake finished: its stop may have closed every link before
                        // this one was in its slot, so close it here, or this slot would wait for it forever.
                        link.Shutdown(LinkCloseReason.LocalClose);
                    }

                    attempt = 0;
                    Log.LinkUp(_logger, name, result.PeerId);
                    SignalLinksChanged();
                    PlaceWaiting();
                    await link.Completion.ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                Log.ConnectFailed(_logger, name, ex.Message);
                if (IsRefused(ex))
                {
                    // Nothing listens there: the core process is gone (issue 20), its streams with it (Tick ends them).
                    Volatile.Write(ref _refusedAt[endpoint], _options.Link.TimeProvider.GetTimestamp());
                }
            }

            if (token.IsCancellationRequested)
            {
                break;
            }

            attempt++;
            _metrics.Reconnect();
            try
            {
                await Task.Delay(Backoff(attempt), _options.Link.TimeProvider, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private static bool IsRefused(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Exponential backoff with "equal jitter": half the step fixed, half random.</summary>
    internal TimeSpan Backoff(int attempt)
    {
        double step = _options.ReconnectBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 20));
        step = Math.Min(step, _options.ReconnectMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((step / 2) + (Random.Shared.NextDouble() * step / 2));
    }

    bool ILinkOwner.OnStreamFrame(Link link, in Frame frame)
    {
        if (!_streams.TryGetValue(frame.StreamId, out var stream))
        {
            // A late frame for a stream that has ended. Opening streams is the core's job, not ours.
            return frame.Kind is not (FrameKind.Open or FrameKind.OpenCopy or FrameKind.Attach);
        }

        switch (frame.Kind)
        {
            case FrameKind.Data:
                return stream.OnData(link, in frame);
            case FrameKind.Ack:
                return stream.OnAck(link, in frame);
            case FrameKind.Close:
                return stream.OnClose(link, in frame);
            case FrameKind.Accept:
                stream.OnAccepted();
                return true;
            case FrameKind.Attached:
                return stream.OnAttached(link, in frame);
            case FrameKind.Refuse:
                stream.Terminate(new StreamCloseInfo(frame.Code, frame.Reason, ByPeer: true));
                return true;
            default:
                return false;
        }
    }

    void ILinkOwner.OnControlFrame(Link link, in Frame frame)
    {
        if (frame.Kind == FrameKind.NewStreams)
        {
            OnNewStreams(link, frame.Value != 0, frame.Reason);
            return;
        }

        if (frame.Kind == FrameKind.Command)
        {
            try
            {
                CommandReceived?.Invoke(frame.Reason, frame.Payload.ToArray());
            }
            catch (Exception ex)
            {
                Log.CommandHandlerFailed(_logger, frame.Reason, ex);
            }
        }
    }

    /// <summary>The core node of <paramref name="link"/> says whether it takes new streams (it says so on every link).</summary>
    private void OnNewStreams(Link link, bool open, string reason)
    {
        int endpoint = EndpointOf(link);
        if (endpoint < 0)
        {
            return;
        }

        if (Interlocked.Exchange(ref _paused[endpoint], open ? 0 : 1) != (open ? 0 : 1))
        {
            if (open)
            {
                Log.EndpointResumed(_logger, _endpointNames[endpoint]);
            }
            else
            {
                Log.EndpointPaused(_logger, _endpointNames[endpoint], reason.Length > 200 ? reason[..200] : reason);
            }
        }
    }

    private int EndpointOf(Link link)
    {
        for (int e = 0; e < _slots.Length; e++)
        {
            if (Array.IndexOf(_slots[e], link) >= 0)
            {
                return e;
            }
        }

        return -1;
    }

    void ILinkOwner.OnLinkClosed(Link link, LinkCloseReason reason)
    {
        for (int e = 0; e < _slots.Length; e++)
        {
            for (int s = 0; s < _slots[e].Length; s++)
            {
                if (_slots[e][s] == link)
                {
                    _slots[e][s] = null;
                }
            }

            if (Volatile.Read(ref _paused[e]) != 0 && !_slots[e].Any(l => l is { IsOpen: true }))
            {
                // No link to that node is left: the next one may reach another process (a restart), which says again
                // on its first frames if it takes no new streams.
                Volatile.Write(ref _paused[e], 0);
            }
        }

        int detached = 0;
        foreach (var stream in _streams.Values)
        {
            if (stream.Detach(link))
            {
                detached++;
            }
        }

        if (detached > 0)
        {
            Log.StreamsDetached(_logger, link.Name, detached);
        }

        SignalLinksChanged();
        if (!_stopping.IsCancellationRequested)
        {
            PlaceWaiting();
        }
    }

    Link? IStreamOwner.CopyLinkFor(MuxStream stream, Link primary)
    {
        // The stream's endpoint's links, starting at a slot its id picks, so copies spread over the links.
        var slots = _slots[stream.EndpointIndex];
        int start = (int)(stream.Id % (ulong)slots.Length);
        for (int i = 0; i < slots.Length; i++)
        {
            if (slots[(start + i) % slots.Length] is { IsOpen: true, IsDraining: false } link && link != primary)
            {
                return link;
            }
        }

        return null;
    }

    void IStreamOwner.OnStreamFinished(MuxStream stream)
    {
        if (_streams.TryRemove(stream.Id, out _))
        {
            _metrics.StreamClosed();
        }
    }
}
