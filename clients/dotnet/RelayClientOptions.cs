namespace Relay.Client;

/// <summary>Options of a <see cref="RelayClient"/>.</summary>
public sealed class RelayClientOptions
{
    /// <summary>Websocket URLs (gateways or core-sim's /ws), tried in turn on each reconnect. One of this or <see cref="UrlFactory"/> is required.</summary>
    public IReadOnlyList<Uri> Urls { get; set; } = [];

    /// <summary>Picks the URL for connection attempt n (0-based), e.g. through a steering layer. Overrides <see cref="Urls"/>.</summary>
    public Func<int, Uri>? UrlFactory { get; set; }

    /// <summary>
    /// The negotiate endpoint (issue 17: core-sim's or any gateway's <c>/v1/negotiate</c>) instead of <see cref="Urls"/>: the
    /// client connects to the best relay it lists, races the next one when the welcome is slow (<see cref="RaceAfter"/>),
    /// goes to the next one when a relay fails (after the backoff of <see cref="ReconnectBaseDelay"/> once a connection was
    /// welcomed, unless a stable session was drained or went away), and asks again when the list is used up or older than 60 s.
    /// </summary>
    public Uri? NegotiateUrl { get; set; }

    /// <summary>With <see cref="NegotiateUrl"/>: how long the first candidate has to welcome before the second is opened too (the first welcome wins). Defaults to 250 ms.</summary>
    public TimeSpan RaceAfter { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Gets a token; called at the first connect, after a 4003 close and after a 401. Required, unless
    /// <see cref="NegotiateUrl"/> and <see cref="AccessToken"/> are set: then a new token comes from <c>POST</c> to the
    /// negotiate URL with the old one (the core renews a token it signed; a gateway's answer names the core's URL as <c>tokenUrl</c>).
    /// </summary>
    public Func<CancellationToken, ValueTask<string>>? TokenProvider { get; set; }

    /// <summary>
    /// The first token when there is no <see cref="TokenProvider"/> (with <see cref="NegotiateUrl"/>): later ones come from
    /// negotiate. When the core refuses to renew it (401: e.g. past its <c>CoreSim:MaxSessionAge</c>, "sign in again"), the
    /// client stops: <see cref="RelayClientState.Closed"/> with close code 4003 and the core's reason (ConnectAsync throws it
    /// before the first welcome); a new client with a new token is the way on.
    /// </summary>
    public string? AccessToken { get; set; }

    /// <summary>The clock for the race, the negotiate list's age, handshake times and reconnect delays. Defaults to the system clock.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Rooms to join in the hello. Defaults to none (a session joins a room when it first sends to it).</summary>
    public IReadOnlyList<string> Rooms { get; set; } = [];

    /// <summary>Outbound messages kept until acknowledged; SendAsync waits when full. Defaults to 10,000.</summary>
    public int MaxUnacknowledged { get; set; } = 10_000;

    /// <summary>Received messages buffered for the application; the read loop waits when full. Defaults to 10,000.</summary>
    public int ReceiveBufferCapacity { get; set; } = 10_000;

    /// <summary>
    /// The reconnect delay after the first failure; it doubles with each failure in a row up to
    /// <see cref="ReconnectMaxDelay"/>, with jitter (a delay is between half and all of it). A failure is any attempt or
    /// close except a drain (4001) or going-away (1001) close of a session that lived <see cref="StableSession"/>: only
    /// those reconnect at once. Defaults to 100 ms.
    /// </summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest reconnect delay. Defaults to 5 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A welcomed connection that lived at least this long (on <see cref="TimeProvider"/>) before it closed resets the
    /// count of failures in a row; one that closes younger counts as a failure, whatever its close code, so a core or
    /// relay that welcomes and then closes at once is retried with a growing backoff, never in a loop. Defaults to 5 s
    /// (the JS SDK's <c>STABLE_SESSION_MS</c>).
    /// </summary>
    public TimeSpan StableSession { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Failures in a row before the client gives up: it goes <see cref="RelayClientState.Closed"/>, fails the messages
    /// still unacknowledged (an <see cref="RelayClient.Error"/> with code <c>closed</c> each) and refuses further sends.
    /// Defaults to 0: unlimited, the client retries for as long as it lives (as the JS SDK does).
    /// </summary>
    public int MaxReconnectAttempts { get; set; }

    /// <summary>
    /// How long an acknowledgement of received messages may wait to ride on the next outgoing message (delayed ack,
    /// as TCP does). An ack goes out on its own after this, or at once after 32 unacknowledged messages. Defaults to
    /// 100 ms (a chat client sending more than ten messages a second sends no ack frames at all); zero acknowledges every message at once.
    /// </summary>
    public TimeSpan AckDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Time to open the websocket and receive the welcome. Defaults to 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When nothing has arrived on a connection for this long, the client sends a session-protocol <c>ping</c> (the core
    /// answers <c>pong</c>; PROTOCOL.md, "Liveness"). A path that goes silent (packets dropped, no reset) is otherwise
    /// never noticed. Defaults to 5 s; zero turns the heartbeat off.
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When nothing at all has arrived this long after a heartbeat <c>ping</c>, the connection is dead: it is aborted (no
    /// close handshake) and the client goes on as for a lost connection (backoff and resume; with negotiate on the next candidate).
    /// Defaults to 4 s.
    /// </summary>
    public TimeSpan HeartbeatTimeout { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// The HTTP version of the websocket handshake on <c>wss://</c> URLs: 1.1 (the default, an upgrade on a connection of
    /// its own) or 2.0 (RFC 8441: a stream on one HTTP/2 connection per client, what a browser opens on a page it
    /// loaded over HTTP/2; the relay must offer it, as its TLS listener does). <c>ws://</c> URLs always use 1.1.
    /// </summary>
    public Version HttpVersion { get; set; } = System.Net.HttpVersion.Version11;

    /// <summary>
    /// Opens the websockets through this invoker (its handler's TLS, proxy and connection settings apply), instead of the
    /// client's own: a default <see cref="System.Net.Http.SocketsHttpHandler"/> for <see cref="HttpVersion"/> 2.0, none for 1.1.
    /// Not disposed by the client.
    /// </summary>
    public System.Net.Http.HttpMessageInvoker? HttpInvoker { get; set; }

    internal void Validate()
    {
        if (HttpVersion != System.Net.HttpVersion.Version11 && HttpVersion != System.Net.HttpVersion.Version20)
        {
            throw new ArgumentException($"HttpVersion: must be 1.1 or 2.0; was {HttpVersion}.");
        }

        if (Heartbeat < TimeSpan.Zero || Heartbeat > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"Heartbeat: must be 0 (off) to 1 h; was {Heartbeat}.");
        }

        if (Heartbeat > TimeSpan.Zero && (HeartbeatTimeout <= TimeSpan.Zero || HeartbeatTimeout > TimeSpan.FromHours(1)))
        {
            throw new ArgumentException($"HeartbeatTimeout: must be over 0 and at most 1 h; was {HeartbeatTimeout}.");
        }

        if (TokenProvider is null && (NegotiateUrl is null || string.IsNullOrEmpty(AccessToken)))
        {
            throw new ArgumentException("TokenProvider: required (or NegotiateUrl with an AccessToken).");
        }

        if (NegotiateUrl is not null && (!NegotiateUrl.IsAbsoluteUri || NegotiateUrl.Scheme is not ("http" or "https")))
        {
            throw new ArgumentException($"NegotiateUrl: must be an absolute http(s) URL; was {NegotiateUrl}.");
        }

        if (NegotiateUrl is null && UrlFactory is null && Urls.Count == 0)
        {
            throw new ArgumentException("Urls: at least one URL, a UrlFactory or a NegotiateUrl is required.");
        }

        if (RaceAfter < TimeSpan.Zero || RaceAfter > ConnectTimeout)
        {
            throw new ArgumentException($"RaceAfter: must be 0 to ConnectTimeout ({ConnectTimeout}); was {RaceAfter}.");
        }

        if (AckDelay < TimeSpan.Zero || AckDelay > TimeSpan.FromSeconds(5))
        {
            throw new ArgumentException($"AckDelay: must be 0 to 5 s; was {AckDelay}.");
        }

        if (MaxUnacknowledged < 1 || ReceiveBufferCapacity < 1)
        {
            throw new ArgumentException("MaxUnacknowledged, ReceiveBufferCapacity: must be at least 1.");
        }

        if (MaxReconnectAttempts < 0)
        {
            throw new ArgumentException($"MaxReconnectAttempts: must be 0 (unlimited) or more; was {MaxReconnectAttempts}.");
        }

        if (StableSession < TimeSpan.Zero || StableSession > TimeSpan.FromHours(1))
        {
            throw new ArgumentException($"StableSession: must be 0 to 1 h; was {StableSession}.");
        }
    }
}
