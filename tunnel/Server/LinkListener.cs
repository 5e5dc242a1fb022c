using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Relay.Tunnel.Server;

/// <summary>
/// The core side of the backhaul: accepts and authenticates links from relays, terminates their
/// streams, and keeps a stream whose link died for a grace period so the relay can re-attach it.
/// </summary>
public sealed partial class LinkListener : IAsyncDisposable, ILinkOwner, IStreamOwner
{
    /// <summary>The pause after an accept that failed (out of files or buffers) before the next.</summary>
    internal static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly LinkListenerOptions _options;
    private readonly TunnelMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RelayState> _relays = new(StringComparer.Ordinal);
    private readonly Channel<MuxStream> _accepted = Channel.CreateUnbounded<MuxStream>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly HandshakeAdmission _admission;
    private readonly Func<string, byte[]?> _keyForRelay;
    private readonly ConcurrentDictionary<string, byte> _blocked = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> _pongDelays = new(StringComparer.Ordinal);
    private Socket? _socket;
    private Task? _acceptLoop;
    private HeartbeatTimer? _heartbeat;

    /// <summary>Creates a listener. Call <see cref="Start"/> to bind.</summary>
    public LinkListener(LinkListenerOptions options, ILogger<LinkListener>? logger = null)
    {
        options.Validate();
        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _keyForRelay = options.KeyForRelay ?? (_ => options.Link.SharedKey);
        _admission = new HandshakeAdmission(options.MaxPendingHandshakes, options.MaxPendingHandshakesPerAddress, options.ReservedHandshakes, options.KnownNetworks);
        _metrics = new TunnelMetrics(options.MeterFactory);
    }

    /// <summary>This listener's backhaul counters now.</summary>
    public TunnelCounters Counters => _metrics.Snapshot();

    /// <inheritdoc/>
    TunnelMetrics ILinkOwner.Metrics => _metrics;

    /// <summary>The bound address (with the real port when 0 was asked).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)(_socket?.LocalEndPoint ?? throw new InvalidOperationException("not started"));

    /// <summary>When true, new streams are refused with 1013 (fault injection, drain of the core).</summary>
    public bool RefuseNewStreams { get; set; }

    private readonly object _newStreamsGate = new();
    private string? _pausedReason; // null: this node takes new streams

    /// <summary>Whether this node takes new streams, as it last told its relays (<see cref="SetTakesNewStreams"/>).</summary>
    public bool TakesNewStreams => Volatile.Read(ref _pausedReason) is null;

    /// <summary>
    /// Tells every relay, on every link, whether this node takes new streams (NEW_STREAMS), and tells each new link while it
    /// takes none. A relay then places new sessions on the next node of their ranking. Advisory: an OPEN that still comes
    /// is handled as before. Only a change is sent.
    /// </summary>
    public void SetTakesNewStreams(bool open, string reason)
    {
        lock (_newStreamsGate)
        {
            if (open == TakesNewStreams)
            {
                return;
            }

            Volatile.Write(ref _pausedReason, open ? null : (string.IsNullOrEmpty(reason) ? "not ready" : reason));
            foreach (var relay in _relays.Values)
            {
                foreach (var link in relay.LinksSnapshot())
                {
                    link.Enqueue(NewStreamsFrame(open, reason));
                }
            }
        }

        if (open)
        {
            Log.NewStreamsResumed(_logger);
        }
        else
        {
            Log.NewStreamsPaused(_logger, reason);
        }
    }

    private static Outgoing NewStreamsFrame(bool open, string reason) => new(FrameKind.NewStreams, value: open ? 1UL : 0UL, body: reason);

    /// <summary>Raised for a health report from a relay (relay id, payload). Runs on a link's read loop.</summary>
    public event Action<string, ReadOnlyMemory<byte>>? HealthReportReceived;

    /// <summary>Raised when a relay's last link closes or its first link opens (relay id).</summary>
    public event Action<string>? RelayChanged;

    /// <summary>Binds and starts accepting links.</summary>
    public void Start()
    {
        var socket = new Socket(_options.EndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        socket.Bind(_options.EndPoint);
        socket.Listen(512);
        _socket = socket;
        _acceptLoop = Task.Run(AcceptLoopAsync);
        StartHeartbeat();
        Log.Listening(_logger, LocalEndPoint.ToString());
    }

    /// <summary>Starts the heartbeat timer alone (tests hand links in through <see cref="AcceptLinkAsync"/>, with no socket).</summary>
    internal void StartHeartbeat() =>
        _heartbeat = new HeartbeatTimer(_options.Link.TimeProvider, _options.TickInterval, Tick, ex => Log.TickFailed(_logger, ex));

    /// <summary>Waits for the next stream a relay opens.</summary>
    public ValueTask<MuxStream> AcceptStreamAsync(CancellationToken cancellationToken = default) => _accepted.Reader.ReadAsync(cancellationToken);

    /// <summary>The relays connected now.</summary>
    public IReadOnlyList<RelayLinkInfo> Relays()
    {
        var list = new List<RelayLinkInfo>();
        foreach (var relay in _relays.Values)
        {
            var links = relay.LinksSnapshot();
            var rtts = links.Select(l => l.RoundTripTime).Where(r => r is not null).Select(r => r!.Value.TotalMilliseconds).ToList();
            list.Add(new RelayLinkInfo(relay.RelayId, relay.Region, links.Count, relay.Streams.Count, rtts.Count > 0 ? rtts.Average() : null));
        }

        return list;
    }

    /// <summary>Tests: a relay's links on this side (none when it has none).</summary>
    internal IReadOnlyList<Link> LinksOf(string relayId) => _relays.TryGetValue(relayId, out var relay) ? relay.LinksSnapshot() : [];

    /// <summary>Fault injection: drops one link (or all links) of a relay. Returns how many were dropped.</summary>
    public int DropLinks(string relayId, bool all = true)
    {
        if (!_relays.TryGetValue(relayId, out var relay))
        {
            return 0;
        }

        int n = 0;
        foreach (var link in relay.LinksSnapshot())
        {
            link.Shutdown(LinkCloseReason.Aborted);
            n++;
            if (!all)
            {
                break;
            }
        }

        return n;
    }

    /// <summary>Fault injection: refuses a relay's links (existing ones are dropped) until unblocked.</summary>
    public void BlockRelay(string relayId)
    {
        _blocked[relayId] = 0;
        DropLinks(relayId);
    }

    /// <summary>Lets a blocked relay connect again.</summary>
    public void UnblockRelay(string relayId) => _blocked.TryRemove(relayId, out _);

    /// <summary>Fault injection: answers a relay's pings late, so it measures a slow link. Zero clears.</summary>
    public void SetPongDelay(string relayId, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            _pongDelays.TryRemove(relayId, out _);
        }
        else
        {
            _pongDelays[relayId] = delay;
        }

        if (_relays.TryGetValue(relayId, out var relay))
        {
            foreach (var link in relay.LinksSnapshot())
            {
                link.PongDelay = delay;
            }
        }
    }

    /// <summary>A command frame's bytes besides its name and payload (length prefix, array and field headers), at most.</summary>
    private const int CommandFrameOverhead = 32;

    /// <summary>Sends a command to a relay (on one of its links). False when it has none, or the command does not fit in a frame.</summary>
    public bool SendCommand(string relayId, string name, ReadOnlyMemory<byte> argument)
    {
        if (!_relays.TryGetValue(relayId, out var relay))
        {
            return false;
        }

        if (argument.Length + System.Text.Encoding.UTF8.GetByteCount(name) + CommandFrameOverhead > _options.Link.MaxFrameSize)
        {
            // The relay would take it for a protocol error and close the link; it keeps its last order instead.
            Log.CommandTooLarge(_logger, relayId, name, argument.Length);
            return false;
        }

        var link = relay.LinksSnapshot().FirstOrDefault(l => l.IsOpen);
        return link is not null && link.Enqueue(new Outgoing(FrameKind.Command, body: name, payload: argument));
    }

    /// <summary>Stops accepting, closes every link; streams end with 1001.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        _heartbeat?.Dispose();
        _socket?.Dispose();
        if (_acceptLoop is not null)
        {
            await _acceptLoop.ConfigureAwait(false);
        }

        var closing = new List<Task>();
        foreach (var relay in _relays.Values)
        {
            foreach (var link in relay.LinksSnapshot())
            {
                link.Shutdown(LinkCloseReason.LocalClose);
                closing.Add(link.Completion);
            }
        }

        try
        {
            await Task.WhenAll(closing).WaitAsync(_options.ShutdownTimeout, _options.Link.TimeProvider).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A link whose loops did not end in time: its streams end below all the same.
        }

        foreach (var relay in _relays.Values)
        {
            foreach (var stream in relay.Streams.Values)
            {
                stream.Terminate(new StreamCloseInfo(StreamCodes.GoingAway, "core shutting down", ByPeer: false));
            }
        }

        _accepted.Writer.TryComplete();
        _metrics.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket!.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of files (EMFILE/ENFILE) or buffers: the pending connection stays in the queue and the listener stays
                // readable, so retrying at once spins a core and floods the log. A short pause lets files come back.
                Log.AcceptFailed(_logger, ex.Message);
                try
                {
                    await Task.Delay(AcceptRetryDelay, _options.Link.TimeProvider, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            // Never wait here: a connection that gets no handshake slot is closed at once, so the accept loop keeps
            // up with a flood and a relay's connection is never queued behind idle ones.
            var address = (client.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (_admission.TryEnter(address) is { } refusal)
            {
                Log.ConnectionShed(_logger, client.RemoteEndPoint?.ToString() ?? "?", refusal);
                // Closed (FIN), not reset: with an RST here (tried for issue 16) the backhaul flood regression test
                // (HandshakeFloodTests) hung in 5 of 7 runs; the gateway's accept budget is what moved the flood's p99.
                client.Dispose();
                continue;
            }

            _ = Task.Run(() => HandshakeAsync(client, address, token), CancellationToken.None);
        }
    }

    private async Task HandshakeAsync(Socket socket, IPAddress address, CancellationToken token)
    {
        bool authenticated = false;
        try
        {
            var connection = LinkTransport.Accept(socket, _options.Link);
            authenticated = await AcceptLinkAsync(connection, socket.RemoteEndPoint?.ToString() ?? "?", token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.HandshakeRefused(_logger, address.ToString(), ex.Message);
            socket.Dispose();
        }
        finally
        {
            _admission.Exit(address, authenticated);
        }
    }

    /// <summary>
    /// Runs the handshake on an accepted connection (tests: an in-memory pipe), then starts it as a link. True when the
    /// peer proved a relay's key (whether or not the link then started).
    /// </summary>
    internal async Task<bool> AcceptLinkAsync(IDuplexPipe connection, string remote, CancellationToken token)
    {
        // The deadline starts before the first read and is short: the peer is not authenticated yet.
        using var timeout = new CancellationTokenSource(_options.HandshakeTimeout, _options.Link.TimeProvider);
        using var handshake = CancellationTokenSource.CreateLinkedTokenSource(token, timeout.Token);
        try
        {
            var result = await LinkHandshake.AcceptAsync(connection, _options.Link, _options.NodeId, _keyForRelay, handshake.Token).ConfigureAwait(false);
            if (!result.Ok)
            {
                Log.HandshakeRefused(_logger, remote, result.Error);
                LinkTransport.Close(connection);
                return false;
            }

            if (_blocked.ContainsKey(result.PeerId))
            {
                Log.HandshakeRefused(_logger, remote, $"relay '{result.PeerId}' is blocked by fault injection");
                LinkTransport.Close(connection);
                return true;
            }

            var relay = _relays.GetOrAdd(result.PeerId, id => new RelayState(id));
            if (relay.LinksSnapshot().Count >= _options.MaxLinksPerRelay)
            {
                Log.HandshakeRefused(_logger, remote, $"relay '{result.PeerId}' holds {_options.MaxLinksPerRelay} links already, the most one relay may");
                LinkTransport.Close(connection);
                return true;
            }

            relay.Region = result.Region;
            var link = new Link(connection, this, _options.Link, _logger, result.PeerId, result.Region, result.PeerWindow, $"{result.PeerId}@{remote}", connection as IDisposable);
            link.PongDelay = _pongDelays.TryGetValue(result.PeerId, out var pongDelay) ? pongDelay : TimeSpan.Zero;
            bool first = relay.AddLink(link);
            link.Start();
            lock (_newStreamsGate)
            {
                if (Volatile.Read(ref _pausedReason) is { } paused)
                {
                    link.Enqueue(NewStreamsFrame(false, paused));
                }
            }

            Log.LinkAccepted(_logger, result.PeerId, result.Region, remote);
            if (first)
            {
                RelayChanged?.Invoke(result.PeerId);
            }

            return true;
        }
        catch (Exception) when (timeout.IsCancellationRequested)
        {
            Log.HandshakeTimedOut(_logger, remote, _options.HandshakeTimeout.TotalSeconds);
            LinkTransport.Close(connection);
            return false;
        }
        catch (Exception ex)
        {
            Log.HandshakeRefused(_logger, remote, ex.Message);
            LinkTransport.Close(connection);
            return false;
        }
    }

    private void Tick(long now)
    {
        var time = _options.Link.TimeProvider;
        foreach (var relay in _relays.Values)
        {
            foreach (var link in relay.LinksSnapshot())
            {
                link.Heartbeat(now);
            }

            // A late OPEN or OPEN_COPY comes within a dead link's timeout, or its link is closed (issue 22).
            relay.PruneEnded(time, now, EndedStreamKeep);

            foreach (var (_, stream) in relay.Streams) // not .Values: that copies every stream into a new list on each tick
            {
                stream.ReceiptIfQuiet();
                if (stream.State == StreamState.Detached && time.GetElapsedTime(stream.DetachedAt, now) > _options.Link.DetachedStreamGrace)
                {
                    stream.Terminate(new StreamCloseInfo(StreamCodes.BackhaulLost, "relay did not re-attach the stream within the grace period", ByPeer: false));
                }
            }
        }
    }
}
