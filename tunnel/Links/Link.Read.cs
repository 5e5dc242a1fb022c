using System.Buffers;
using System.IO.Pipelines;

namespace Relay.Tunnel.Links;

internal sealed partial class Link
{
    private async Task ReadLoopAsync()
    {
        var input = _pipe.Input;
        var reason = LinkCloseReason.PeerClosed;
        try
        {
            while (IsOpen)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                if (result.IsCanceled)
                {
                    break;
                }

                var buffer = result.Buffer;
                if (!buffer.IsEmpty)
                {
                    Volatile.Write(ref _lastReceivedTicks, _options.TimeProvider.GetTimestamp());
                }

                bool ok = ProcessFrames(ref buffer, out var error);
                input.AdvanceTo(buffer.Start, buffer.End);
                if (!ok)
                {
                    Log.BadFrame(_logger, Name, error);
                    reason = LinkCloseReason.ProtocolError;
                    break;
                }

                if (Volatile.Read(ref _refusesQueued) > MaxQueuedRefuses)
                {
                    await UntilRefusesWrittenAsync().ConfigureAwait(false); // a peer that does not read is not read either
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        Log.BadFrame(_logger, Name, "connection ended inside a frame");
                        reason = LinkCloseReason.ProtocolError;
                    }

                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
            Log.ReadFailed(_logger, Name, ex.Message);
            reason = LinkCloseReason.SocketError;
        }
        catch (Exception ex)
        {
            Log.ReadCrashed(_logger, Name, ex);
            reason = LinkCloseReason.SocketError;
        }
        finally
        {
            Shutdown(reason);
            LoopEnded();
        }
    }

    private bool ProcessFrames(ref ReadOnlySequence<byte> buffer, out string error)
    {
        error = string.Empty;
        while (true)
        {
            long before = buffer.Length;
            var status = FrameReader.TryReadFrame(ref buffer, _options.MaxFrameSize, out var frame, out var frameError);
            switch (status)
            {
                case FrameStatus.NeedMoreData:
                    return true;
                case FrameStatus.Error:
                    error = frameError.ToString();
                    return false;
                case FrameStatus.Skipped:
                    Metrics.FrameReceived(before - buffer.Length);
                    continue;
            }

            Metrics.FrameReceived(before - buffer.Length);
            if (!Dispatch(in frame))
            {
                error = $"{frame.Kind} for stream {frame.StreamId} out of order or over credit";
                return false;
            }
        }
    }

    private bool Dispatch(in Frame frame)
    {
        switch (frame.Kind)
        {
            case FrameKind.Data or FrameKind.Ack or FrameKind.Close or FrameKind.Open or FrameKind.OpenCopy or FrameKind.Accept or FrameKind.Refuse or FrameKind.Attach or FrameKind.Attached:
                return _owner.OnStreamFrame(this, in frame);
            case FrameKind.Ping:
                Interlocked.Increment(ref _pingsReceived);
                var delay = PongDelay;
                if (delay <= TimeSpan.Zero)
                {
                    // One pong waits at most: a peer that pings and does not read would otherwise grow this link's
                    // queue by a frame per ping (a review found it). The answer to a later ping while one waits is that
                    // one; the peer's round trip is measured on the ping it answers.
                    if (Interlocked.CompareExchange(ref _pongQueued, 1, 0) == 0)
                    {
                        Interlocked.Increment(ref _pongsQueued);
                        Enqueue(new Outgoing(FrameKind.Pong, value: frame.Value));
                    }
                }
                else
                {
                    PongLater(frame.Value, delay);
                }

                return true;
            case FrameKind.Pong:
                long now = _options.TimeProvider.GetTimestamp();
                OnRoundTrip((long)frame.Value, now, _options.TimeProvider.GetElapsedTime((long)frame.Value, now));
                return true;
            case FrameKind.GoAway:
                IsDraining = true;
                Log.PeerGoingAway(_logger, Name, frame.Reason);
                return true;
            case FrameKind.HealthReport or FrameKind.Command or FrameKind.NewStreams:
                _owner.OnControlFrame(this, in frame);
                return true;
            default:
                // Hello and the handshake kinds are not valid once the link runs.
                return false;
        }
    }

    // Its own method: a lambda capturing a local declared in a switch section makes the compiler allocate the
    // closure on entry to the switch, i.e. once per frame (it was half of the gateway's allocations at full load).
    private void PongLater(ulong stamp, TimeSpan delay) =>
        _ = Task.Delay(delay, _options.TimeProvider).ContinueWith(_ => Enqueue(new Outgoing(FrameKind.Pong, value: stamp)), TaskScheduler.Default);
}
