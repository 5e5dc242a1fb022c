using System.IO.Pipelines;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Links;

/// <summary>
/// One authenticated backhaul connection: one read loop, one write loop that batches many frames
/// per flush, and a heartbeat driven by its owner's timer. Streams move between links; a link only
/// carries their frames.
/// </summary>
internal sealed partial class Link
{
    private readonly IDuplexPipe _pipe;
    private readonly ILinkOwner _owner;
    private readonly LinkOptions _options;
    private readonly ILogger _logger;
    private readonly IDisposable? _connection;
    private readonly Channel<Outgoing> _outbound = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
    private int _pongQueued;
    private long _pingsReceived;

    /// <summary>Pings the peer sent on this link (tests).</summary>
    internal long PingsReceived => Interlocked.Read(ref _pingsReceived);
    private long _pongsQueued;

    /// <summary>Pongs this link queued (tests).</summary>
    internal long PongsQueued => Interlocked.Read(ref _pongsQueued);

    /// <summary>
    /// REFUSE frames queued and not yet written. Past <see cref="MaxQueuedRefuses"/> the read loop reads nothing more from
    /// the peer until the writer has taken half of them: each OPEN or ATTACH a relay sends for a stream the core will not
    /// take is answered with a REFUSE, so a relay that sends them and does not read grew the queue without end (a review:
    /// 100,000 ATTACHs, 99,941 frames queued). An honest relay reads, and gets every answer.
    /// </summary>
    private int _refusesQueued;
    private TaskCompletionSource? _refusesDrained;

    internal const int MaxQueuedRefuses = 1024;

    /// <summary>REFUSE frames queued and not yet written (tests).</summary>
    internal int RefusesQueued => Volatile.Read(ref _refusesQueued);
    private readonly TaskCompletionSource<LinkCloseReason> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _closeReason;
    private int _loopsRunning;
    private long _lastReceivedTicks;
    private long _lastPingSentTicks;
    private long _pingOutstandingTicks;
    private long _lastSlowTicks;
    private bool _far = true;
    private readonly TimeSpan[] _rtts = new TimeSpan[RttSamples];
    private int _rttCount;
    private readonly System.Net.Sockets.Socket? _socket;
    private bool _kernelPath;
    private int _streamCount;

    /// <summary>Round trips whose smallest decides whether the link is far.</summary>
    private const int RttSamples = 3;

    /// <summary>A ping unanswered this long is a stall (loss): Linux's smallest TCP retransmission timeout.</summary>
    private static readonly TimeSpan s_stallAfter = TimeSpan.FromMilliseconds(200);

    public Link(IDuplexPipe pipe, ILinkOwner owner, LinkOptions options, ILogger logger, string peerId, string region, int peerWindow, string name, IDisposable? connection = null)
    {
        _pipe = pipe;
        _owner = owner;
        _options = options;
        _logger = logger;
        _connection = connection;
        _socket = (connection as Pipelines.Sockets.Unofficial.SocketConnection)?.Socket;
        Metrics = owner.Metrics;
        PeerId = peerId;
        Region = region;
        PeerWindow = peerWindow;
        Name = name;
        _lastReceivedTicks = options.TimeProvider.GetTimestamp();
        _lastPingSentTicks = _lastReceivedTicks;
    }

    /// <summary>The owner's backhaul metrics.</summary>
    public TunnelMetrics Metrics { get; }

    /// <summary>Relay id (accepting side) or core node id (dialing side) of the peer.</summary>
    public string PeerId { get; }

    /// <summary>The relay's region (accepting side).</summary>
    public string Region { get; }

    /// <summary>The peer's per-stream receive window: the initial credit of streams opened here.</summary>
    public int PeerWindow { get; }

    /// <summary>A name for logs: endpoint and slot.</summary>
    public string Name { get; }

    /// <summary>Streams currently placed on this link.</summary>
    public int StreamCount => Volatile.Read(ref _streamCount);

    /// <summary>True once the peer said GO_AWAY or this link is closing: place no new streams here.</summary>
    public bool IsDraining { get; private set; }

    /// <summary>True while the link runs.</summary>
    public bool IsOpen => Volatile.Read(ref _closeReason) == (int)LinkCloseReason.None;

    /// <summary>The reason the link ended (first wins).</summary>
    public LinkCloseReason CloseReason => (LinkCloseReason)Volatile.Read(ref _closeReason);

    /// <summary>Last measured round-trip time, or null before the first pong.</summary>
    public TimeSpan? RoundTripTime { get; private set; }

    /// <summary>
    /// True while the link is far or lossy (issue 21): its round trip is not measured yet, or a round trip (or an
    /// unanswered ping) reached <see cref="LinkOptions.DuplicateAboveRtt"/> within <see cref="LinkOptions.FarLinkHold"/>.
    /// Streams on it copy their small frames to a second link (<see cref="LinkOptions.DuplicateFramesUpTo"/>) only then.
    /// Always true when DuplicateAboveRtt is zero.
    /// </summary>
    public bool IsFar => Volatile.Read(ref _far);

    /// <summary>Fault injection: answer pings this much later (the peer measures a slower link).</summary>
    public TimeSpan PongDelay { get; set; }

    /// <summary>Completes when both loops have ended.</summary>
    public Task<LinkCloseReason> Completion => _closed.Task;

    public void AddStream() => Interlocked.Increment(ref _streamCount);

    public void RemoveStream() => Interlocked.Decrement(ref _streamCount);

    /// <summary>Starts the read and write loops.</summary>
    public void Start()
    {
        Metrics.LinkOpened();
        _loopsRunning = 2;
        _ = Task.Run(ReadLoopAsync);
        _ = Task.Run(WriteLoopAsync);
    }

    /// <summary>Queues a frame. Returns false when the link is closing (the frame is dropped; streams resend after re-attach).</summary>
    public bool Enqueue(in Outgoing frame)
    {
        if (frame.Kind != FrameKind.Refuse)
        {
            return _outbound.Writer.TryWrite(frame);
        }

        Interlocked.Increment(ref _refusesQueued);
        if (_outbound.Writer.TryWrite(frame))
        {
            return true;
        }

        RefuseTaken();
        return false;
    }

    /// <summary>A queued REFUSE left the queue: wakes the read loop once half of the cap is left.</summary>
    private void RefuseTaken()
    {
        if (Interlocked.Decrement(ref _refusesQueued) <= MaxQueuedRefuses / 2 && Volatile.Read(ref _refusesDrained) is not null)
        {
            Interlocked.Exchange(ref _refusesDrained, null)?.TrySetResult();
        }
    }

    /// <summary>The read loop, past <see cref="MaxQueuedRefuses"/>: waits until the writer has taken half of them or the link closes.</summary>
    private async Task UntilRefusesWrittenAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _refusesDrained, drained); // a full fence: the writer's decrement then sees it, or this sees the decrement
        if (Volatile.Read(ref _refusesQueued) <= MaxQueuedRefuses / 2 || !IsOpen)
        {
            Interlocked.CompareExchange(ref _refusesDrained, null, drained);
            return;
        }

        await drained.Task.ConfigureAwait(false);
    }

    /// <summary>Sends GO_AWAY: the peer should place no new streams here.</summary>
    public void SendGoAway(string reason)
    {
        IsDraining = true;
        Enqueue(new Outgoing(FrameKind.GoAway, body: reason));
    }

    /// <summary>Called by the owner's heartbeat timer: pings, and closes a link that has gone silent.</summary>
    public void Heartbeat(long now)
    {
        if (!IsOpen)
        {
            return;
        }

        var time = _options.TimeProvider;
        if (time.GetElapsedTime(Volatile.Read(ref _lastReceivedTicks), now) > _options.DeadLinkTimeout)
        {
            Log.DeadLink(_logger, Name, _options.DeadLinkTimeout.TotalSeconds);
            Shutdown(LinkCloseReason.Timeout);
            return;
        }

        UpdateFar(now);
        if (time.GetElapsedTime(_lastPingSentTicks, now) >= _options.HeartbeatInterval)
        {
            _lastPingSentTicks = now;
            Interlocked.CompareExchange(ref _pingOutstandingTicks, now, 0);
            Enqueue(new Outgoing(FrameKind.Ping, value: (ulong)now));
        }
    }

    /// <summary>A pong (read loop): the round trip of the ping stamped <paramref name="sentTicks"/>, measured at <paramref name="now"/>.</summary>
    private void OnRoundTrip(long sentTicks, long now, TimeSpan rtt)
    {
        RoundTripTime = rtt;
        Metrics.RoundTrip(rtt);
        Interlocked.CompareExchange(ref _pingOutstandingTicks, 0, sentTicks);

        if (_kernelPath)
        {
            return; // the kernel's view decides (UpdateFar): a ping's round trip includes both processes' queues
        }

        // Far by distance: the smallest of the last few round trips (queueing on a busy machine inflates one sample, not
        // the floor; a far peer's every sample is above it).
        _rtts[_rttCount++ % RttSamples] = rtt;
        var floor = TimeSpan.MaxValue;
        for (int i = 0; i < Math.Min(_rttCount, RttSamples); i++)
        {
            floor = _rtts[i] < floor ? _rtts[i] : floor;
        }

        if (floor >= _options.DuplicateAboveRtt)
        {
            Volatile.Write(ref _lastSlowTicks, now);
        }

        UpdateFar(now);
    }

    /// <summary>
    /// Far while the last slow sign is younger than <see cref="LinkOptions.FarLinkHold"/>: a far round trip (above), or a
    /// ping still unanswered after <see cref="s_stallAfter"/> (a TCP retransmission, whose timeout is at least 200 ms, or
    /// a far peer), seen on the heartbeat tick. Near once measured and no slow sign within the hold.
    /// </summary>
    private void UpdateFar(long now)
    {
        var time = _options.TimeProvider;
        if (_options.DuplicateAboveRtt <= TimeSpan.Zero)
        {
            return; // copies on every link (_far stays true)
        }

        if (TcpPath.MinRtt(_socket) is { } minRtt)
        {
            // Linux, a socket: far by the kernel's smallest round trip of the path. Not by its retransmissions: on a
            // machine short of CPU loopback links retransmit too (bench/README.md, issue 21), and copies would add to it.
            _kernelPath = true;
            if (minRtt >= _options.DuplicateAboveRtt)
            {
                Volatile.Write(ref _lastSlowTicks, now);
            }

            long since = Volatile.Read(ref _lastSlowTicks);
            Volatile.Write(ref _far, since != 0 && time.GetElapsedTime(since, now) < _options.FarLinkHold);
            return;
        }

        long outstanding = Volatile.Read(ref _pingOutstandingTicks);
        if (outstanding != 0 && time.GetElapsedTime(outstanding, now) >= (s_stallAfter > _options.DuplicateAboveRtt ? s_stallAfter : _options.DuplicateAboveRtt))
        {
            Volatile.Write(ref _lastSlowTicks, now);
        }

        long slow = Volatile.Read(ref _lastSlowTicks);
        bool far = RoundTripTime is null || (slow != 0 && time.GetElapsedTime(slow, now) < _options.FarLinkHold);
        Volatile.Write(ref _far, far);
    }

    /// <summary>Closes the link. Idempotent; the first reason is kept.</summary>
    public void Shutdown(LinkCloseReason reason)
    {
        if (Interlocked.CompareExchange(ref _closeReason, (int)reason, (int)LinkCloseReason.None) != (int)LinkCloseReason.None)
        {
            return;
        }

        IsDraining = true;
        if (reason is LinkCloseReason.PeerClosed or LinkCloseReason.LocalClose)
        {
            Log.LinkClosed(_logger, Name, reason);
        }
        else
        {
            Log.LinkFailed(_logger, Name, reason);
        }

        _outbound.Writer.TryComplete();
        Interlocked.Exchange(ref _refusesDrained, null)?.TrySetResult(); // the read loop, if it waits for the writer
        UnsafeRelease();
        _pipe.Input.CancelPendingRead();
        _pipe.Output.CancelPendingFlush();
        try
        {
            // Closing the socket wakes both loops even while a flush waits on a peer that stopped reading.
            _connection?.Dispose();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private void LoopEnded()
    {
        if (Interlocked.Decrement(ref _loopsRunning) != 0)
        {
            return;
        }

        _pipe.Input.Complete();
        _pipe.Output.Complete();
        _connection?.Dispose();
        Metrics.LinkClosed();
        _owner.OnLinkClosed(this, CloseReason);
        _closed.TrySetResult(CloseReason);
    }
}
