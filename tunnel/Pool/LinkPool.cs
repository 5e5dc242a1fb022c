using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Relay.Tunnel.Pool;

/// <summary>
/// The relay side of the backhaul: N warm links per core endpoint, reconnecting with exponential
/// backoff and jitter; streams placed by rendezvous hashing on the session key (then the least
/// loaded link of that endpoint), and re-attached on another link when theirs dies.
/// </summary>
public sealed partial class LinkPool : IAsyncDisposable, ILinkOwner, IStreamOwner
{
    private readonly LinkPoolOptions _options;
    private readonly TunnelMetrics _metrics;
    private readonly ILogger _logger;
    private readonly string[] _endpointNames;
    private readonly Link?[][] _slots;
    private readonly ConcurrentDictionary<ulong, MuxStream> _streams = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _placeGate = new();
    private readonly List<Task> _slotLoops = [];
    private readonly ulong _idBase;
    private readonly long[] _refusedAt; // per endpoint: when a connect to it was last refused (0: never)
    private readonly int[] _paused; // per endpoint: 1 while the node said it takes no new streams (NEW_STREAMS)
    private HeartbeatTimer? _heartbeat;
    private long _nextId;
    private volatile TaskCompletionSource _linksChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Creates a pool. Call <see cref="Start"/> to connect.</summary>
    public LinkPool(LinkPoolOptions options, ILogger<LinkPool>? logger = null)
    {
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _endpointNames = [.. options.Endpoints];
        _slots = _endpointNames.Select(_ => new Link?[options.LinksPerEndpoint]).ToArray();
        _refusedAt = new long[_endpointNames.Length];
        _paused = new int[_endpointNames.Length];
        _metrics = new TunnelMetrics(options.MeterFactory, () => LinksUp);

        // Stream ids are unique per relay across restarts: a random incarnation in the high bits.
        _idBase = (ulong)(uint)RandomNumberGenerator.GetInt32(int.MaxValue) << 32;
    }

    /// <summary>The relay id this pool announces.</summary>
    public string RelayId => _options.RelayId;

    /// <summary>Links currently open and accepting new streams.</summary>
    public int LinksUp => AllLinks().Count(l => l.IsOpen && !l.IsDraining);

    /// <summary>This pool's backhaul counters now.</summary>
    public TunnelCounters Counters => _metrics.Snapshot();

    /// <inheritdoc/>
    TunnelMetrics ILinkOwner.Metrics => _metrics;

    /// <summary>Streams open (placed or waiting to re-attach).</summary>
    public int StreamCount => _streams.Count;

    /// <summary>Raised for a COMMAND frame from the core (name, argument). Runs on a link's read loop: keep it short.</summary>
    public event Action<string, ReadOnlyMemory<byte>>? CommandReceived;

    /// <summary>Opens the links. Returns at once; links come up in the background.</summary>
    public void Start()
    {
        for (int e = 0; e < _slots.Length; e++)
        {
            for (int s = 0; s < _slots[e].Length; s++)
            {
                int endpoint = e, slot = s;
                _slotLoops.Add(Task.Run(() => RunSlotAsync(endpoint, slot)));
            }
        }

        _heartbeat = new HeartbeatTimer(_options.Link.TimeProvider, _options.TickInterval, Tick, ex => Log.TickFailed(_logger, ex));
    }

    /// <summary>Waits until at least <paramref name="count"/> links are up.</summary>
    public async Task WaitForLinksAsync(int count, CancellationToken cancellationToken = default)
    {
        while (LinksUp < count)
        {
            var changed = _linksChanged.Task;
            if (LinksUp >= count)
            {
                return;
            }

            // The tick re-checks too: a GO_AWAY drains a link without a change signal.
            await changed.WaitAsync(_options.TickInterval, _options.Link.TimeProvider, cancellationToken).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Opens a stream for a session. It is usable at once (optimistic open): messages sent before
    /// the core accepts go out right behind the OPEN; a refusal ends the stream with its code.
    /// </summary>
    public MuxStream OpenStream(OpenInfo info)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        ulong id = _idBase | (ulong)Interlocked.Increment(ref _nextId);
        var stream = new MuxStream(id, info, isOpener: true, this, _options.Link);
        stream.EndpointIndex = ChooseEndpoint(RendezvousHash.Rank(info.SessionKey, _endpointNames));
        _streams[id] = stream;
        _metrics.StreamOpened();
        TryPlace(stream);
        return stream;
    }

    /// <summary>Sends an opaque health report to every core endpoint (on one link each).</summary>
    public void SendHealthReport(ReadOnlyMemory<byte> report)
    {
        for (int e = 0; e < _slots.Length; e++)
        {
            PickLink(e)?.Enqueue(new Outgoing(FrameKind.HealthReport, payload: report));
        }
    }

    /// <summary>Snapshot of every link slot.</summary>
    public IReadOnlyList<LinkInfo> Links()
    {
        var list = new List<LinkInfo>();
        for (int e = 0; e < _slots.Length; e++)
        {
            for (int s = 0; s < _slots[e].Length; s++)
            {
                var link = _slots[e][s];
                list.Add(new LinkInfo(_endpointNames[e], s, link is { IsOpen: true }, link?.StreamCount ?? 0, link?.RoundTripTime?.TotalMilliseconds));
            }
        }

        return list;
    }

    /// <summary>Tells the core this relay is draining: GO_AWAY on every link.</summary>
    public void SendGoAway(string reason)
    {
        foreach (var link in AllLinks())
        {
            link.SendGoAway(reason);
        }
    }

    /// <summary>Tests: kill one link (endpoint, slot) as if its socket died. Streams re-attach elsewhere.</summary>
    internal bool KillLink(int endpoint, int slot)
    {
        var link = _slots[endpoint][slot];
        if (link is null || !link.IsOpen)
        {
            return false;
        }

        link.Shutdown(LinkCloseReason.Aborted);
        return true;
    }

    /// <summary>Tests: the link in a slot, or null while the slot has none.</summary>
    internal Link? LinkAt(int endpoint, int slot) => _slots[endpoint][slot];

    /// <summary>Tests: kill every link at once. They reconnect with backoff.</summary>
    internal int KillAllLinks()
    {
        int n = 0;
        foreach (var link in AllLinks())
        {
            link.Shutdown(LinkCloseReason.Aborted);
            n++;
        }

        return n;
    }

    /// <summary>Closes every link; streams end with 1001.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _heartbeat?.Dispose();
        foreach (var link in AllLinks())
        {
            link.Shutdown(LinkCloseReason.LocalClose);
        }

        foreach (var stream in _streams.Values)
        {
            stream.Terminate(new StreamCloseInfo(StreamCodes.GoingAway, "relay shutting down", ByPeer: false));
        }

        await Task.WhenAll(_slotLoops).ConfigureAwait(false);
        _stopping.Dispose();
        _metrics.Dispose();
    }

    /// <summary>
    /// The endpoint a new stream goes to: the first of its ranking with a link up that takes new streams; when every node
    /// with a link up said it takes none (a broker outage reaches them all), the first with a link up, which answers as it
    /// can (1013: the client resumes later); with no link up anywhere, the first of the ranking (the stream waits).
    /// </summary>
    private int ChooseEndpoint(int[] ranked)
    {
        int withLink = -1;
        foreach (int e in ranked)
        {
            if (PickLink(e) is null)
            {
                continue;
            }

            if (Volatile.Read(ref _paused[e]) == 0)
            {
                return e;
            }

            if (withLink < 0)
            {
                withLink = e;
            }
        }

        return withLink >= 0 ? withLink : ranked[0];
    }

    /// <summary>Tests: whether the core node at <paramref name="endpoint"/> takes new streams, as far as this pool knows.</summary>
    internal bool TakesNewStreams(int endpoint) => Volatile.Read(ref _paused[endpoint]) == 0;

    private IEnumerable<Link> AllLinks() => _slots.SelectMany(s => s).Where(l => l is not null)!;

    private Link? PickLink(int endpoint)
    {
        Link? best = null;
        foreach (var link in _slots[endpoint])
        {
            if (link is { IsOpen: true, IsDraining: false } && (best is null || link.StreamCount < best.StreamCount))
            {
                best = link;
            }
        }

        return best;
    }

    private void TryPlace(MuxStream stream)
    {
        lock (_placeGate)
        {
            if (stream.CurrentLink is not null || stream.State is StreamState.Closed or StreamState.Attached or StreamState.Attaching)
            {
                return;
            }

            var link = PickLink(stream.EndpointIndex);
            if (link is null)
            {
                return;
            }

            if (stream.IsAccepted)
            {
                stream.BeginAttach(link);
            }
            else
            {
                stream.PlaceOpen(link);
            }

            // The link may have died between the pick and the placement, after its closing sweep
            // looked at this stream: detach it here (idempotent) and the next tick places it again.
            if (!link.IsOpen)
            {
                stream.Detach(link);
            }
        }
    }

    private void PlaceWaiting()
    {
        foreach (var stream in _streams.Values)
        {
            if (stream.State is StreamState.Pending or StreamState.Detached)
            {
                TryPlace(stream);
            }
        }
    }

    private void Tick(long now)
    {
        var time = _options.Link.TimeProvider;
        foreach (var link in AllLinks())
        {
            link.Heartbeat(now);
        }

        bool waiting = false;
        foreach (var (_, stream) in _streams) // not .Values: that copies every stream into a new list on each tick
        {
            stream.ReceiptIfQuiet();
            if (stream.State is StreamState.Pending or StreamState.Detached)
            {
                waiting = true;
                if (stream.CurrentLink is null && time.GetElapsedTime(stream.DetachedAt, now) > _options.Link.DetachedStreamGrace)
                {
                    stream.Terminate(new StreamCloseInfo(StreamCodes.BackhaulLost, "backhaul lost: no link to the core within the grace period", ByPeer: false));
                }
                else if (stream.CurrentLink is null && stream.IsAccepted && EndpointRefusedSince(stream.EndpointIndex, stream.DetachedAt))
                {
                    // Issue 20: the core node is gone (its port refuses connections, no link of it is up): its streams
                    // cannot re-attach there, so they end now and their clients resume on the next node of the ranking.
                    stream.Terminate(new StreamCloseInfo(StreamCodes.BackhaulLost, "backhaul lost: the core endpoint refuses connections", ByPeer: false));
                }
            }
        }

        if (waiting)
        {
            PlaceWaiting();
        }
    }

    private bool EndpointRefusedSince(int endpoint, long since)
    {
        long refused = Volatile.Read(ref _refusedAt[endpoint]);
        return refused != 0 && refused >= since && PickLink(endpoint) is null && !_slots[endpoint].Any(l => l is { IsOpen: true });
    }

    private void SignalLinksChanged()
    {
        var old = _linksChanged;
        _linksChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        old.TrySetResult();
    }
}
