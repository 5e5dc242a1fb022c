using System.IO.Pipelines;

namespace Relay.Tunnel.Links;

internal sealed partial class Link
{
    /// <summary>Tests only (issue 22): DATA frames queued on this link are dropped unwritten, as if lost for good while the
    /// link stays up. Never set in production code.</summary>
    internal bool UnsafeDropDataFrames { get; set; }

    private TaskCompletionSource? _unsafeHold;

    /// <summary>Tests only (issue 22): frames queued on this link wait unwritten until <see cref="UnsafeRelease"/>, as
    /// behind a lost packet that TCP retransmits late (nothing is lost, everything after it waits). Never in production.</summary>
    internal void UnsafeHold() => Interlocked.CompareExchange(ref _unsafeHold, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    /// <summary>Tests only: ends <see cref="UnsafeHold"/>; what waited is written, in order.</summary>
    internal void UnsafeRelease() => Interlocked.Exchange(ref _unsafeHold, null)?.TrySetResult();

    private async Task WriteLoopAsync()
    {
        var output = _pipe.Output;
        var reader = _outbound.Reader;
        var reason = LinkCloseReason.LocalClose;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                if (Volatile.Read(ref _unsafeHold) is { } hold)
                {
                    await hold.Task.ConfigureAwait(false); // tests only
                }

                long pending = 0;
                int frames = 0;
                while (Volatile.Read(ref _unsafeHold) is null && reader.TryRead(out var item))
                {
                    if (UnsafeDropDataFrames && item.Kind == FrameKind.Data)
                    {
                        continue; // tests: a link whose data is lost while it stays up (its pings and acks go on)
                    }

                    if (item.Kind == FrameKind.Pong)
                    {
                        Volatile.Write(ref _pongQueued, 0); // the next ping may queue its pong
                    }
                    else if (item.Kind == FrameKind.Refuse)
                    {
                        RefuseTaken();
                    }

                    pending += Encode(output, in item);
                    frames++;
                    if (pending >= _options.FlushThreshold)
                    {
                        Metrics.Flushed(frames, pending);
                        frames = 0;
                        pending = 0;
                        if (!await FlushAsync(output).ConfigureAwait(false))
                        {
                            return;
                        }
                    }
                }

                if (pending > 0 || frames > 0)
                {
                    Metrics.Flushed(frames, pending);
                    if (!await FlushAsync(output).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
        }
        catch (Exception ex)
        {
            Log.WriteFailed(_logger, Name, ex.Message);
            reason = LinkCloseReason.SocketError;
        }
        finally
        {
            Shutdown(reason);
            LoopEnded();
        }
    }

    private async ValueTask<bool> FlushAsync(PipeWriter output)
    {
        var flush = output.FlushAsync();
        var result = flush.IsCompletedSuccessfully ? flush.Result : await flush.ConfigureAwait(false);
        return !result.IsCanceled && !result.IsCompleted;
    }

    private static long Encode(PipeWriter output, in Outgoing item)
    {
        long before = output.UnflushedBytes;
        switch (item.Kind)
        {
            case FrameKind.Data:
                FrameWriter.WriteData(output, item.StreamId, item.Seq, item.Flags, item.Payload.Span);
                break;
            case FrameKind.Ack or FrameKind.Attach or FrameKind.Attached:
                FrameWriter.WriteAck(output, item.Kind, item.StreamId, item.Seq, item.Value);
                break;
            case FrameKind.Ping or FrameKind.Pong:
                FrameWriter.WritePing(output, item.Kind, item.Value);
                break;
            case FrameKind.Accept:
                FrameWriter.WriteAccept(output, item.StreamId);
                break;
            case FrameKind.Close:
                FrameWriter.WriteClose(output, item.StreamId, item.Seq, item.Code, (string?)item.Body ?? string.Empty);
                break;
            case FrameKind.Refuse:
                FrameWriter.WriteRefuse(output, item.StreamId, item.Code, (string?)item.Body ?? string.Empty);
                break;
            case FrameKind.Open or FrameKind.OpenCopy:
                FrameWriter.WriteOpen(output, item.Kind, item.StreamId, (OpenInfo)item.Body!);
                break;
            case FrameKind.GoAway:
                FrameWriter.WriteGoAway(output, (string?)item.Body ?? string.Empty);
                break;
            case FrameKind.HealthReport:
                FrameWriter.WriteHealthReport(output, item.Payload);
                break;
            case FrameKind.Command:
                FrameWriter.WriteCommand(output, (string?)item.Body ?? string.Empty, item.Payload);
                break;
            case FrameKind.NewStreams:
                FrameWriter.WriteNewStreams(output, item.Value != 0, (string?)item.Body ?? string.Empty);
                break;
            default:
                throw new InvalidOperationException($"{item.Kind} is not queued on a running link");
        }

        return output.UnflushedBytes - before;
    }
}
