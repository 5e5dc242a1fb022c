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
    private bool _dropNextAfterWelcome;
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
    /// <see cref="RelayClientOptions.MaxUnacknowledged"/> messages are unacknowledged. Returns its seq.</summary>
    public ValueTask<long> SendAsync(string body, string? room = null, CancellationToken cancellationToken = default) =>
        SendJsonAsync(ClientFrames.StringBody(body), room, cancellationToken);

    /// <summary>Sends a body given as raw JSON (any JSON value; not validated).</summary>
    public async ValueTask<long> SendJsonAsync(string bodyJson, string? room = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_stopping.IsCancellationRequested, this);
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        Connection? wake;
        long seq;
        lock (_gate)
        {
            seq = ++_outSeq;
            _pending.Add(new PendingMessage(seq, room, bodyJson));
            wake = _connection;
        }

        wake?.Wake();
        return seq;
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

    private TimeSpan Backoff(int failures)
    {
        double max = Math.Min(_options.ReconnectMaxDelay.TotalMilliseconds, _options.ReconnectBaseDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 20)));
        return TimeSpan.FromMilliseconds(max / 2 + Random.Shared.NextDouble() * max / 2);
    }
}
