using System.Threading.Channels;
using Relay.Client.Internal;
using Relay.Contracts.Sessions;

namespace Relay.Client;

/// <summary>
/// A chat session with the core through a gateway or core-sim's /ws. Keeps what the core has not
/// acknowledged, reconnects with backoff and jitter, resumes, and delivers every message exactly once in order.
/// </summary>
public sealed partial class RelayClient : IAsyncDisposable
{
    private readonly RelayClientOptions _options;
    private readonly object _gate = new();
    private readonly List<PendingMessage> _pending = [];
    private readonly SemaphoreSlim _slots;
    private readonly Channel<ChatMessage> _inbox;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstWelcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _run;
    private long _outSeq;
    private long _inSeq;
    private string? _session;
    private string? _resumeToken;
    private string? _token;
    private Connection? _connection;
    private bool _tooBigBeforeResume; // 1009: the first message after the resume welcome's lastSeq was refused as too big
    private string? _ended; // why the client stopped for good (set once the run ends): sends are refused
    private RelayClientState _state;
    private System.Net.Http.HttpMessageInvoker? _ownInvoker;

    /// <summary>Creates a client; call <see cref="ConnectAsync"/>.</summary>
    public RelayClient(RelayClientOptions options)
    {
        options.Validate();
        _options = options;
        _slots = new SemaphoreSlim(options.MaxUnacknowledged, options.MaxUnacknowledged);
        _token = options.TokenProvider is null ? options.AccessToken : null;
        _inbox = Channel.CreateBounded<ChatMessage>(new BoundedChannelOptions(options.ReceiveBufferCapacity) { SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    }

    /// <summary>Raised on every state change (on the client's own task; keep handlers short).</summary>
    public event Action<RelayStateChange>? StateChanged;

    /// <summary>Raised for an error frame from the core or a message refused as too big.</summary>
    public event Action<RelayClientError>? Error;

    /// <summary>The current state.</summary>
    public RelayClientState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>The session id, after the first welcome.</summary>
    public string? SessionId
    {
        get
        {
            lock (_gate)
            {
                return _session;
            }
        }
    }

    /// <summary>Outbound messages not yet acknowledged by the core.</summary>
    public int UnacknowledgedCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Starts the client and waits for the first welcome.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_run is not null)
            {
                throw new InvalidOperationException("ConnectAsync was already called.");
            }

            _run = Task.Run(RunAsync, CancellationToken.None);
        }

        await _firstWelcome.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a text body (as a JSON string), to a room or (no room) as an echo request. Waits while
    /// <see cref="RelayClientOptions.MaxUnacknowledged"/> messages are unacknowledged. Returns its seq. A message that
    /// will never be delivered (too big, refused by the core, still unacknowledged when the client closes) is reported by
    /// <see cref="Error"/> with its seq. Throws <see cref="InvalidOperationException"/> once the client has stopped by
    /// itself (closed by the core, taken over, out of reconnect attempts), <see cref="ObjectDisposedException"/> once disposed.</summary>
    public ValueTask<long> SendAsync(string body, string? room = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync(ClientFrames.StringBody(body), room, cancellationToken);

    /// <summary>Sends a body given as raw JSON (any JSON value; not validated).</summary>
    public async ValueTask<long> SendJsonAsync(string bodyJson, string? room = null, CancellationToken cancellationToken = default)
    {
        ThrowIfEnded();
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        Connection? wake;
        long seq;
        lock (_gate)
        {
            if (_ended is not null)
            {
                // Woken by the slots the end released: this message would never go out.
                _slots.Release();
                ThrowIfEnded();
            }

            seq = ++_outSeq;
            _pending.Add(new PendingMessage(seq, room, bodyJson));
            wake = _connection;
        }

        wake?.Wake();
        return seq;
    }

    private void ThrowIfEnded()
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        if (Volatile.Read(ref _ended) is { } why)
        {
            throw new InvalidOperationException($"the client is closed and sends nothing more: {why}");
        }
    }

    /// <summary>Every message from the core, exactly once, in order; ends when the client closes.</summary>
    public IAsyncEnumerable<ChatMessage> ReadAllAsync(CancellationToken cancellationToken = default) => _inbox.Reader.ReadAllAsync(cancellationToken);

    /// <summary>Breaks the current connection without a close handshake, as a network failure would (tests, drills).
    /// The client reconnects and resumes.</summary>
    public void DropConnection()
    {
        Connection? c;
        lock (_gate)
        {
            c = _connection;
        }

        c?.Abort();
    }

    /// <summary>Closes the session normally (1000) and stops.</summary>
    public async Task CloseAsync()
    {
        Connection? c;
        lock (_gate)
        {
            c = _connection;
        }

        if (c is not null)
        {
            await c.CloseAsync().ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The client stopped for good: further sends are refused, and what is still unacknowledged is failed (an
    /// <see cref="Error"/> with code <c>closed</c> each; it will never be delivered). Their slots are released, which wakes
    /// the sends waiting for one: they see the end and throw.
    /// </summary>
    private void End(string why)
    {
        List<PendingMessage> failed;
        lock (_gate)
        {
            if (_ended is not null)
            {
                return;
            }

            Volatile.Write(ref _ended, why);
            failed = [.. _pending];
            _pending.Clear();
        }

        if (failed.Count > 0)
        {
            _slots.Release(failed.Count);
        }

        foreach (var p in failed)
        {
            Error?.Invoke(new RelayClientError("closed", $"the client closed before the core acknowledged this message: {why}", p.Seq, p.Room, p.BodyJson));
        }
    }

    /// <summary>An <c>error</c> frame: reported; one that names a message's <c>seq</c> also fails that message (<see cref="Refuse"/>).</summary>
    private void OnError(ServerFrame frame)
    {
        string code = frame.Code ?? "error", message = frame.Message ?? string.Empty;
        if (frame.Seq is { } seq)
        {
            Refuse(seq, code, message);
        }
        else
        {
            Error?.Invoke(new RelayClientError(code, message, null));
        }
    }

    /// <summary>
    /// The core refused one message (an <c>error</c> naming its <c>seq</c>: <c>room_forbidden</c>, <c>too_many_rooms</c>):
    /// it leaves the outbox for good and the application hears of it, so no later session is sent it again.
    /// </summary>
    private void Refuse(long seq, string code, string message)
    {
        PendingMessage? refused = null;
        lock (_gate)
        {
            int i = _pending.FindIndex(p => p.Seq == seq);
            if (i >= 0)
            {
                refused = _pending[i];
                _pending.RemoveAt(i); // the gap it leaves is closed at the next welcome (RenumberAfter)
            }
        }

        if (refused is not null)
        {
            _slots.Release();
        }

        Error?.Invoke(new RelayClientError(code, message, seq, refused?.Room, refused?.BodyJson));
    }

    /// <summary>
    /// Under <see cref="_gate"/>: the outbox numbered contiguously from <paramref name="lastSeq"/> + 1, and later sends after
    /// it. A message left behind (refused, too big) would otherwise leave a gap the core refuses (seq_gap, 1008).
    /// </summary>
    private void RenumberAfter(long lastSeq)
    {
        for (int i = 0; i < _pending.Count; i++)
        {
            _pending[i].Seq = lastSeq + 1 + i;
        }

        _outSeq = lastSeq + _pending.Count;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        _stopping.Cancel();
        DropConnection();
        if (_run is not null)
        {
            await _run.ConfigureAwait(false);
        }

        End("the application closed the client");
        SetState(RelayClientState.Closed, null, null);
        _inbox.Writer.TryComplete();
        _ownInvoker?.Dispose();
    }

    /// <summary>Opens <paramref name="socket"/> to <paramref name="url"/> with the options' HTTP version and invoker.</summary>
    private Task ConnectWebSocketAsync(System.Net.WebSockets.ClientWebSocket socket, Uri url, CancellationToken ct)
    {
        var invoker = _options.HttpInvoker;
        if (_options.HttpVersion == System.Net.HttpVersion.Version20 && url.Scheme == "wss")
        {
            socket.Options.HttpVersion = System.Net.HttpVersion.Version20;
            socket.Options.HttpVersionPolicy = System.Net.Http.HttpVersionPolicy.RequestVersionExact;
            // One HTTP/2 connection for the client's websockets, as a browser keeps one per origin; made at first use
            // (a negotiate race may open two candidates at once: one invoker all the same).
            invoker ??= LazyInitializer.EnsureInitialized(ref _ownInvoker, static () => new System.Net.Http.HttpMessageInvoker(new System.Net.Http.SocketsHttpHandler()));
        }

        return invoker is null ? socket.ConnectAsync(url, ct) : socket.ConnectAsync(url, invoker, ct);
    }

    private void SetState(RelayClientState state, int? closeCode, string? reason, bool resumed = false)
    {
        string? session;
        RelaySteering? steering;
        lock (_gate)
        {
            if (_state == state && state != RelayClientState.Connected)
            {
                return;
            }

            _state = state;
            session = _session;
            steering = _steering;
        }

        StateChanged?.Invoke(new RelayStateChange(state, session, resumed, closeCode, reason, steering));
    }

    private void Acknowledge(long ack)
    {
        int removed = 0;
        lock (_gate)
        {
            while (removed < _pending.Count && _pending[removed].Seq <= ack)
            {
                removed++;
            }

            _pending.RemoveRange(0, removed);
        }

        if (removed > 0)
        {
            _slots.Release(removed);
        }
    }

    private Uri PickUrl(int attempt)
    {
        var url = _options.UrlFactory?.Invoke(attempt) ?? _options.Urls[attempt % _options.Urls.Count];
        var builder = new UriBuilder(url);
        var query = builder.Query.TrimStart('?');
        builder.Query = (query.Length > 0 ? query + "&" : string.Empty) + "access_token=" + Uri.EscapeDataString(_token ?? string.Empty);
        return builder.Uri;
    }

    /// <summary>The delay after <paramref name="failures"/> failures in a row (1 or more): the base delay doubled per failure
    /// after the first, at most the max, with equal jitter (between half and all of it).</summary>
    private TimeSpan Backoff(int failures)
    {
        double max = Math.Min(_options.ReconnectMaxDelay.TotalMilliseconds, _options.ReconnectBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures - 1, 0, 30)));
        return TimeSpan.FromMilliseconds(max / 2 + Random.Shared.NextDouble() * max / 2);
    }
}
