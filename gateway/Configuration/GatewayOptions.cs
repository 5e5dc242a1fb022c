namespace Relay.Gateway.Configuration;

/// <summary>Gateway settings, bound from the "Gateway" section (appsettings, GATEWAY__X env vars, --Gateway:X=...).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Plain websocket port (ws://HOST:PORT/ws). Defaults to 8080. 0 picks a free port.</summary>
    public int HttpPort { get; set; } = 8080;

    /// <summary>TLS port (wss:// and HTTP/2 websockets), used when <see cref="CertificatePath"/> is set. Defaults to 8443.</summary>
    public int HttpsPort { get; set; } = 8443;

    /// <summary>Address to bind. Defaults to 0.0.0.0 (all IPv4).</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>Certificate for wss: a PFX file, or a PEM certificate with <see cref="CertificateKeyPath"/>. Reloaded when the file changes.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>PEM private key for a PEM <see cref="CertificatePath"/>.</summary>
    public string? CertificateKeyPath { get; set; }

    /// <summary>Password of a PFX certificate.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>A file holding <see cref="CertificatePassword"/>, read at start and trimmed (as <see cref="BackhaulOptions.SharedKeyFile"/>). Defaults to none.</summary>
    public string? CertificatePasswordFile { get; set; }

    /// <summary>The core's token public key (PEM, "PUBLIC KEY"), read once at start. Required unless <see cref="JwksUrl"/> is set.</summary>
    public string PublicKeyPath { get; set; } = string.Empty;

    /// <summary>
    /// The core's JWKS (core-sim: http://CORE/.well-known/jwks.json), fetched at start, every
    /// <see cref="JwksRefreshInterval"/> and when a token names an unknown <c>kid</c> (a rotated key); a JWKS it
    /// cannot get makes the relay unready. Defaults to none: the keys come from <see cref="PublicKeyPath"/>.
    /// </summary>
    public string? JwksUrl { get; set; }

    /// <summary>How often the JWKS is fetched again. Defaults to 60 s.</summary>
    public TimeSpan JwksRefreshInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The <c>iss</c> a client token must carry. Defaults to "relay-core" (core-sim's).</summary>
    public string TokenIssuer { get; set; } = Relay.Contracts.Tokens.TokenIssuer.DefaultIssuer;

    /// <summary>The <c>aud</c> a client token must carry. Defaults to "relay" (core-sim's).</summary>
    public string TokenAudience { get; set; } = Relay.Contracts.Tokens.TokenIssuer.DefaultAudience;

    /// <summary>Tolerance on a token's <c>exp</c> and <c>nbf</c> at admission. Defaults to 5 s.</summary>
    public TimeSpan TokenClockSkew { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Allowed Origin header values for browser clients. Empty allows any origin (development). Clients that send no Origin (apps) are allowed.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>Concurrent sessions per client IP. Defaults to 100.</summary>
    public int MaxSessionsPerIp { get; set; } = 100;

    /// <summary>
    /// Concurrent client connections (sessions, handshakes and HTTP requests together); beyond it a new connection is
    /// closed at once. Defaults to 0: the process's open-file limit minus 512 (kept for the backhaul, files and the
    /// tunnel); a larger value is lowered to that, so the process never runs out of descriptors.
    /// </summary>
    public int MaxConnections { get; set; }

    /// <summary>
    /// Concurrent connections that are not (yet) websocket sessions: handshakes in progress and plain HTTP. At the cap
    /// a new connection takes the slot of the oldest one of the address holding the most, which is closed (so a flood
    /// cannot hold the slots). Defaults to 0: a quarter of the connection cap, at most
    /// <see cref="Edge.ConnectionGate.DefaultMaxPreAuthConnections"/> (a handshake holds its slot for milliseconds; every
    /// slot a flood fills is memory the GC walks while the sessions wait).
    /// </summary>
    public int MaxPreAuthConnections { get; set; }

    /// <summary>Concurrent connections from one client address that are not (yet) sessions; beyond it a new one is closed at once. Defaults to 16.</summary>
    public int MaxPreAuthConnectionsPerIp { get; set; } = 16;

    /// <summary>
    /// While the connection gate is refusing (a cap or a per-address limit refused or evicted a connection in the last
    /// second, or Under Attack mode is on): at most this many connections accepted per second on the client listeners
    /// (a token bucket). The rest wait in the kernel's listen queue (<see cref="ListenBacklog"/>), where a flood costs
    /// no CPU of the gateway's, and when that is full the kernel drops their SYNs (the client retries after 1 s, 3 s…).
    /// Sessions already open are not affected. Defaults to 2,000; 0: no limit.
    /// </summary>
    public int AcceptsPerSecondWhenRefusing { get; set; } = 2000;

    /// <summary>
    /// New connections per second on the wss listener from one client (an IPv4 address, an IPv6 /64), a token bucket
    /// asked at accept: beyond it a connection is reset before its TLS handshake (0.3 to 1.5 ms of the relay's CPU
    /// each, so one client's handshake loop could take the relay's CPU). Trusted proxies are not limited. Defaults to
    /// 50; 0: no limit.
    /// </summary>
    public int TlsHandshakesPerSecondPerAddress { get; set; } = 50;

    /// <summary>The burst of <see cref="TlsHandshakesPerSecondPerAddress"/>: new wss connections one client may open at once. Defaults to 200.</summary>
    public int TlsHandshakeBurstPerAddress { get; set; } = 200;

    /// <summary>
    /// Requests per second one client (an IPv4 address, an IPv6 /64) may make to the relay's own HTTP endpoints
    /// (<c>/healthz</c>, <c>/readyz</c>, <c>/status</c>, <c>/metrics</c>, <c>/challenge</c>, <c>/v1/negotiate</c>, <c>/admin/…</c>, …),
    /// a token bucket: beyond it 429 with <c>Retry-After: 1</c>. Not <c>/ws</c> (sessions have their own limits) nor the
    /// edge HTTP prefixes (<c>EdgeHttp:MaxRequestsPerClient</c>). A scrape of <c>/metrics</c> costs about 1 ms of CPU, so
    /// one client looping on it took a core. Defaults to 50; 0: no limit.
    /// </summary>
    public int HttpRequestsPerSecondPerClient { get; set; } = 50;

    /// <summary>The burst of <see cref="HttpRequestsPerSecondPerClient"/>. Defaults to 200.</summary>
    public int HttpRequestBurstPerClient { get; set; } = 200;

    /// <summary>Connections the kernel holds for the client listeners before they are accepted (listen backlog; the
    /// kernel lowers it to <c>net.core.somaxconn</c>). Defaults to 512 (Kestrel's).</summary>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>
    /// Time a new connection has to send its PROXY header and its request head (fast path and Kestrel's
    /// <c>RequestHeadersTimeout</c>) before it is closed. Defaults to 10 s.
    /// </summary>
    public TimeSpan RequestHeadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Load balancers in front of the relay (addresses or CIDRs, e.g. "10.0.0.0/8"): a connection from one must start
    /// with a PROXY protocol v2 header (HAProxy <c>send-proxy-v2</c>), whose source address is then the client's
    /// for limits, the session and logs; without one it is closed. X-Forwarded-For is honoured only from these.
    /// Defaults to none: no PROXY header is read, X-Forwarded-For is ignored.
    /// </summary>
    public string[] TrustedProxies { get; set; } = [];

    /// <summary>Sustained messages per second per session (token bucket); a client that sends faster is held to it (its
    /// next messages wait in its socket), never closed for it. Defaults to 20.</summary>
    public int MessagesPerSecond { get; set; } = 20;

    /// <summary>Token bucket burst size: what a session sends at once before the rate applies. Defaults to 40.</summary>
    public int MessageBurst { get; set; } = 40;

    /// <summary>Largest client message in bytes; bigger closes the session with 1009. Defaults to 64 KiB.</summary>
    public int MaxMessageSize { get; set; } = 64 * 1024;

    /// <summary>
    /// Bytes from the core waiting for a client that reads slowly (beyond its socket and Kestrel's output buffer)
    /// before it is closed with 1013. Defaults to 128 KiB; must be below the backhaul stream window (256 KiB), which
    /// bounds the wait anyway by stopping the core's credit for that one session.
    /// </summary>
    public int SendQueueBytes { get; set; } = 128 * 1024;

    /// <summary>
    /// Plain HTTP/1.1 websocket upgrades to /ws are taken at the connection, before Kestrel's HTTP stack (about 5 KB
    /// less per session); HTTP/2, permessage-deflate (when on) and anything unusual still go through ASP.NET Core.
    /// Defaults to true; false sends every upgrade through ASP.NET Core.
    /// </summary>
    public bool FastUpgrade { get; set; } = true;

    /// <summary>
    /// Issue 21: with <see cref="FastUpgrade"/>, the client listeners own their connections. A plain-listener upgrade
    /// whose head arrives in one piece becomes a session on its own socket, not a Kestrel connection (about 3.5 KB less
    /// per idle session, and its sends go straight to the socket); on the TLS listener the relay does the handshake
    /// itself and an HTTP/1.1 upgrade becomes a session on the TLS stream over its own socket. Everything else goes to
    /// Kestrel (on the TLS listener already decrypted). Defaults to true; false keeps every connection a Kestrel
    /// connection.
    /// </summary>
    public bool SocketSessions { get; set; } = true;

    /// <summary>
    /// Issue 22: the relay welcomes a fresh session itself, one WAN round trip sooner. It mints the session id and resume
    /// token, carries them in the stream's OPEN for the core to adopt, parses only the client's first message (a hello of
    /// at most 4 KiB with no <c>resume</c>) and answers it with the welcome at once. A resume still waits for the core's
    /// welcome (its <c>lastSeq</c>), and a refusal from the core still arrives as a close. Needs a core that adopts edge
    /// session ids (core-sim since issue 22). Defaults to true; false: the core welcomes every session.
    /// </summary>
    public bool EdgeWelcome { get; set; } = true;

    /// <summary>
    /// After a burst (at least 64 MB allocated), once the process has allocated under 4 MB/s for this long, one
    /// aggressive GC gives the burst's memory back (an idle relay otherwise keeps it: no allocation, no GC).
    /// Defaults to 30 s; zero turns it off.
    /// </summary>
    public TimeSpan IdleMemoryTrimAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// A message from the core goes to its websocket on the backhaul link's read loop, without a thread-pool hop
    /// (the send never blocks: it waits asynchronously when the client's socket is full). Defaults to true.
    /// </summary>
    public bool InlineScheduling { get; set; } = true;

    /// <summary>
    /// Kestrel's <c>UnsafePreferInlineScheduling</c> for the client sockets: a connection's work runs on the socket's
    /// completion thread, no hop to the thread pool. Defaults to true (issue 21; with the runtime's inline socket
    /// completions, which Program sets).
    /// </summary>
    public bool KestrelInlineScheduling { get; set; } = true;

    /// <summary>
    /// wss sessions: OpenSSL frees a connection's read and write buffers while it has nothing in flight
    /// (<c>SSL_MODE_RELEASE_BUFFERS</c>, as nginx and HAProxy do; about 32 KB less per idle wss session). Linux with
    /// OpenSSL 3 only (set through the TLS stream's private handle, <see cref="Tls.OpenSslBuffers"/>). Defaults to true.
    /// </summary>
    public bool TlsReleaseBuffers { get; set; } = true;

    /// <summary>Websocket keep-alive ping interval. Defaults to 15 s.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A client that answers no ping for this long is dead. Defaults to 30 s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Offer permessage-deflate to clients that ask. Defaults to false (CPU per message; payloads are small).</summary>
    public bool EnableCompression { get; set; }

    /// <summary>Bearer key for /admin endpoints. Empty disables them.</summary>
    public string AdminKey { get; set; } = string.Empty;

    /// <summary>A file holding <see cref="AdminKey"/>, read at start and trimmed (as <see cref="BackhaulOptions.SharedKeyFile"/>). Defaults to none.</summary>
    public string? AdminKeyFile { get; set; }

    /// <summary>
    /// Time a closing session gives its client to take the close frame, and again to answer it, before the
    /// connection is reset. Defaults to 5 s.
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <see cref="CloseTimeout"/> for a client closed because it read too slowly (it must first reach the close
    /// frame behind its queue). Defaults to 15 s.
    /// </summary>
    public TimeSpan SlowClientCloseTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Time an ended session waits for the core to answer its stream's close before resetting the stream. Defaults to 5 s.</summary>
    public TimeSpan BackhaulCloseTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Time allowed on SIGTERM to close sessions with 1001 before exit. Defaults to 10 s.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Health model, agent check and drain.</summary>
    public HealthOptions Health { get; set; } = new();

    /// <summary>The backhaul to the core.</summary>
    public BackhaulOptions Backhaul { get; set; } = new();

    /// <summary>The negotiate endpoint (issue 17): the core's token URL, this relay's public URL.</summary>
    public NegotiateOptions Negotiate { get; set; } = new();

    /// <summary>
    /// The development demo chat widget at / with its token proxy (gateway/Demo). Unset: on only in the Development
    /// environment. The proxy mints operator tokens for anyone: never turn it on in production.
    /// </summary>
    public bool? DemoWidget { get; set; }

    /// <summary>core-sim's token endpoint for the demo widget's token proxy. Defaults to http://127.0.0.1:7080/v1/tokens.</summary>
    public string DemoTokenUrl { get; set; } = "http://127.0.0.1:7080/v1/tokens";
}
