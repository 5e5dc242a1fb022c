using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.Metrics;
using System.Threading.RateLimiting;
using Relay.Tunnel.Protocol;

namespace Relay.Gateway.Sessions;

/// <summary>GET /ws: checks token (401), origin (403) and per-IP limit (429) before the upgrade and any backhaul work.</summary>
internal sealed partial class SessionEndpoint(
    IOptions<GatewayOptions> options, TokenVerifier tokens, BackhaulService backhaul, SessionRegistry sessions,
    GatewayMetrics metrics, TimeProvider time, ILogger<SessionEndpoint> logger, Security.UnderAttackGate underAttack, Edge.ConnectionGate gate)
{
    private readonly GatewayOptions _options = options.Value;
    private readonly HashSet<string> _origins = new(options.Value.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
    private readonly Edge.IpLimiter _perIp = new(options.Value.MaxSessionsPerIp);

    // One options object for every session's token bucket; each session makes its bucket on its first message.
    private readonly TokenBucketRateLimiterOptions _rateOptions = RateOptions(options.Value);

    // Issue 21: every session's token expiry on one timer, not one timer per session.
    private readonly SessionExpiry _expiry = new(time);

    /// <summary>The sessions' expiries (tests: an ended session leaves it).</summary>
    internal SessionExpiry Expiry => _expiry;

    /// <summary>
    /// The checks before an upgrade, in order: draining and no backhaul (503), token (401), origin (403), per-IP
    /// sessions (429). Admitted: the per-IP slot is taken; <see cref="RunSessionAsync"/> or <see cref="Release"/> gives it back.
    /// </summary>
    public Admission Admit(string? token, string? origin, IPAddress ip, string? pow = null)
    {
        if (sessions.Draining)
        {
            return Refuse(StatusCodes.Status503ServiceUnavailable, "draining", "relay is draining; reconnect through the steering layer");
        }

        if (backhaul.Pool.LinksUp == 0)
        {
            // No link to the core: a session accepted now could only wait. Say so before the upgrade.
            return Refuse(StatusCodes.Status503ServiceUnavailable, "backhaul", "no link to the core is up; try another relay");
        }

        var verified = tokens.Verify(token);
        if (verified.Claims is null)
        {
            return Refuse(StatusCodes.Status401Unauthorized, "token", verified.Error ?? "invalid token");
        }

        if (_origins.Count > 0 && origin is not null && !_origins.Contains(origin))
        {
            return Refuse(StatusCodes.Status403Forbidden, "origin", $"origin '{origin}' is not allowed");
        }

        if (underAttack.Check(ip, pow, verified.Claims) is { } attack)
        {
            return Refuse(attack.Status, attack.Reason, attack.Message); // Under Attack mode (issue 16): proof of work, connection-rate limits
        }

        if (!_perIp.TryAcquire(ip))
        {
            return Refuse(StatusCodes.Status429TooManyRequests, "per-ip", $"more than {_options.MaxSessionsPerIp} sessions from one address");
        }

        return new Admission(StatusCodes.Status101SwitchingProtocols, null, verified.Claims.ToDictionary(), ip);
    }

    /// <summary>Ends the request's connection once this response is out: <c>Connection: close</c> over HTTP/1.1, GOAWAY over HTTP/2.</summary>
    private static void CloseConnection(HttpContext context)
    {
        if (!HttpProtocol.IsHttp2(context.Request.Protocol) && !HttpProtocol.IsHttp3(context.Request.Protocol))
        {
            context.Response.Headers.Connection = "close";
        }

        context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionLifetimeNotificationFeature>()?.RequestClose();
    }

    /// <summary>Gives back the per-IP slot of an admission that did not become a session.</summary>
    public void Release(Admission admission) => _perIp.Release(admission.Ip);

    /// <summary>
    /// Websocket options for an accepted session. <paramref name="kernelKeepAlive"/>: the session's socket has the kernel's
    /// TCP keepalive with the same interval and timeout (<c>Upgrade.SocketLiveness</c>), so the websocket sends no pings
    /// of its own (its timer was ≈ 240 B per idle session, issue 21).
    /// </summary>
    /// <summary>The pongs each session's websocket may write: at most its message rate (<see cref="PongRate"/>).</summary>
    public PongRate Pongs { get; } = new(options.Value.MessagesPerSecond, options.Value.MessageBurst, time);

    public WebSocketCreationOptions CreationOptions(bool kernelKeepAlive = false) => new()
    {
        IsServer = true,
        KeepAliveInterval = kernelKeepAlive ? TimeSpan.Zero : _options.KeepAliveInterval,
        KeepAliveTimeout = kernelKeepAlive ? Timeout.InfiniteTimeSpan : _options.KeepAliveTimeout,
    };

    /// <summary>
    /// Accepts the websocket as ASP.NET Core's websocket middleware does (101 with Sec-WebSocket-Accept over HTTP/1.1, 200
    /// over HTTP/2's extended CONNECT), over a stream whose pongs are paced (<see cref="Pongs"/>); with permessage-deflate
    /// on (<c>Gateway:EnableCompression</c>), the middleware's own accept (it negotiates the extension), over the paced
    /// stream <see cref="PacedUpgradeFeatures"/> hands it.
    /// </summary>
    private async Task<WebSocket> AcceptAsync(HttpContext context)
    {
        Stream transport;
        if (_options.EnableCompression)
        {
            return await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                DangerousEnableCompression = true,
                KeepAliveInterval = _options.KeepAliveInterval,
                KeepAliveTimeout = _options.KeepAliveTimeout,
            }).ConfigureAwait(false);
        }

        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            transport = await connect.AcceptAsync().ConfigureAwait(false);
        }
        else
        {
            var upgrade = context.Features.GetRequiredFeature<IHttpUpgradeFeature>();
            context.Response.Headers.Connection = "Upgrade";
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.SecWebSocketAccept = AcceptKey(context.Request.Headers.SecWebSocketKey.ToString());
            context.Response.StatusCode = StatusCodes.Status101SwitchingProtocols;
            transport = await upgrade.UpgradeAsync().ConfigureAwait(false);
        }

        return WebSocket.CreateFromStream(new PacedStream(transport) { Pongs = Pongs }, CreationOptions());
    }

    /// <summary>Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2).</summary>
    public static string AcceptKey(string key)
    {
        Span<byte> hash = stackalloc byte[System.Security.Cryptography.SHA1.HashSizeInBytes];
        System.Security.Cryptography.SHA1.HashData(System.Text.Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"), hash);
        return Convert.ToBase64String(hash);
    }

    /// <summary>
    /// Refused upgrades one connection gets (HTTP/1.1 keep-alive requests, HTTP/2 streams) before it is closed; what it
    /// sends meanwhile is refused with 429 without a token check. Each refusal cost an ES256 signature check, for a few
    /// bytes from the client over HTTP/2, and Under Attack mode's limits come after the token. A connection of the
    /// relay's own paths (its own sockets, the fast path) gets one upgrade, refused or not.
    /// </summary>
    internal const int MaxRefusedUpgradesPerConnection = 4;

    /// <summary>GET /ws through ASP.NET Core (HTTP/2 websockets, permessage-deflate, and anything the fast path hands over).</summary>
    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsync("websocket upgrade required\n").ConfigureAwait(false);
            return;
        }

        var slot = context.Features.Get<Edge.PreAuthSlot>(); // the connection's (a connection feature)
        if (slot is { RefusedUpgrades: >= MaxRefusedUpgradesPerConnection })
        {
            metrics.Refused("refused-upgrades");
            CloseConnection(context);
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            await context.Response.WriteAsync($"refused-upgrades: {MaxRefusedUpgradesPerConnection} upgrades refused on this connection; it is closing\n").ConfigureAwait(false);
            return;
        }

        var admission = Admit(context.Request.Query["access_token"], context.Request.Headers.Origin, context.Connection.RemoteIpAddress ?? IPAddress.None, context.Request.Query[Relay.Contracts.Challenges.ProofOfWork.QueryParameter]);
        if (admission.Claims is null)
        {
            if (slot?.UpgradeRefused() >= MaxRefusedUpgradesPerConnection)
            {
                CloseConnection(context);
            }

            context.Response.StatusCode = admission.Status;
            await context.Response.WriteAsync(admission.Reason + "\n").ConfigureAwait(false);
            return;
        }

        WebSocket socket;
        bool http2 = HttpProtocol.IsHttp2(context.Request.Protocol); // an HTTP/2 connection outlives its sessions (streams)
        try
        {
            // No longer a pre-auth connection (gateway/Edge), before the 101: a client may open its next connection the
            // moment it has the 101, and this one must not still count against its address's pre-auth cap then.
            slot?.Upgraded();
            socket = await AcceptAsync(context).ConfigureAwait(false);
        }
        catch
        {
            Release(admission);
            slot?.SessionEnded(); // no session after all: the connection (HTTP/1.1 keep-alive too) is pre-auth again
            throw;
        }

        try
        {
            await RunSessionAsync(socket, admission, context.Connection.RemotePort, Metrics.UpgradePath.Http).ConfigureAwait(false);
        }
        finally
        {
            if (http2)
            {
                slot?.SessionEnded(); // its last session over, the connection is pre-auth again (PreAuthSlot)
            }
        }
    }

    /// <summary>
    /// Runs an accepted websocket as one backhaul stream; the task ends with the session, which then disposes the
    /// websocket and gives back the per-IP slot (<see cref="OnSessionEnded"/>), and for <see cref="Metrics.UpgradePath.Socket"/>
    /// its connection's place at the gate (nobody awaits such a session: no frame of the upgrade outlives it). Not an async method: the session's
    /// own pump is the only frame that lives as long as the session.
    /// </summary>
    public Task RunSessionAsync(WebSocket socket, Admission admission, int remotePort, Metrics.UpgradePath path)
    {
        RelaySession session;
        try
        {
            metrics.Upgraded(path);
            var claims = admission.Claims!;

            // Optimistic open: no round trip to the core before the client's first message goes out.
            string sessionKey = $"{claims["site"]}/{claims["sub"]}";
            (string Session, string ResumeToken)? edge = null;
            if (_options.EdgeWelcome)
            {
                // Issue 22: the id and resume token this relay will welcome a fresh session with, in the OPEN for the core
                // to adopt (a resume hello makes the core ignore them). Minted now: the OPEN does not wait for the hello.
                edge = Relay.Contracts.Sessions.EdgeWelcome.Mint();
                claims = new Dictionary<string, string>(claims)
                {
                    [Relay.Contracts.Sessions.EdgeWelcome.SessionClaim] = edge.Value.Session,
                    [Relay.Contracts.Sessions.EdgeWelcome.ResumeTokenClaim] = edge.Value.ResumeToken,
                };
            }

            var stream = backhaul.Pool.OpenStream(new OpenInfo(sessionKey, $"{admission.Ip}:{remotePort}", claims));
            session = new RelaySession(socket, stream, this, sessionKey, admission.Ip, _options, metrics, _rateOptions, time, logger) { EdgeSession = edge, Path = path };
        }
        catch
        {
            socket.Dispose();
            _perIp.Release(admission.Ip);
            throw;
        }

        session.RegistryId = sessions.Add(session);
        metrics.SessionOpened();
        Log.SessionOpened(logger, session.Key, session.StreamId);
        session.CloseAtExpiry(TokenClaims.FromDictionary(admission.Claims!)?.ExpiresAt ?? DateTimeOffset.MaxValue, _expiry);
        return session.RunAsync();
    }

    /// <summary>Called by a session once it has ended: out of the registry, counted, per-IP slot given back.</summary>
    internal void OnSessionEnded(RelaySession session)
    {
        sessions.Remove(session.RegistryId);
        metrics.SessionClosed(session.CloseCode);
        Log.SessionClosed(logger, session.Key, session.CloseCode);
        _perIp.Release(session.Ip);
        if (session.Path == Metrics.UpgradePath.Socket)
        {
            gate.Closed(); // a session on its own socket holds its connection's place at the gate until it ends (issue 21)
        }
    }

    /// <summary>
    /// A token bucket of <see cref="GatewayOptions.MessageBurst"/> that fills at <see cref="GatewayOptions.MessagesPerSecond"/>
    /// continuously: not auto-replenished, the session asks it to replenish by elapsed time before each message.
    /// </summary>
    private static TokenBucketRateLimiterOptions RateOptions(GatewayOptions options) => new()
    {
        TokenLimit = options.MessageBurst,
        TokensPerPeriod = options.MessagesPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = false,
    };

    private Admission Refuse(int status, string metric, string reason)
    {
        metrics.Refused(metric);
        Log.Refused(logger, status, reason);
        return new Admission(status, reason, null, IPAddress.None);
    }

    /// <summary>The outcome of <see cref="Admit"/>: claims when admitted, else the status and reason to answer with.</summary>
    internal readonly record struct Admission(int Status, string? Reason, IReadOnlyDictionary<string, string>? Claims, IPAddress Ip);
}
