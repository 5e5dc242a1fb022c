using System.Net;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.Gateway.Hosting;
using Relay.Gateway.Metrics;
using System.Threading.RateLimiting;
using Relay.Tunnel.Protocol;

namespace Relay.Gateway.Sessions;

/// <summary>GET /ws: checks token (401), origin (403) and per-IP limit (429) before the upgrade and any backhaul work.</summary>
internal sealed partial class SessionEndpoint(
    IOptions<GatewayOptions> options, TokenVerifier tokens, BackhaulService backhaul, SessionRegistry sessions,
    GatewayMetrics metrics, ILogger<SessionEndpoint> logger)
{
    private readonly GatewayOptions _options = options.Value;
    private readonly HashSet<string> _origins = new(options.Value.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
    private readonly IpLimiter _perIp = new(options.Value.MaxSessionsPerIp);
    private long _nextSession;

    // One partitioned token-bucket limiter for all sessions: one replenishment timer, not one per session.
    private readonly PartitionedRateLimiter<long> _rate = PartitionedRateLimiter.Create<long, long>(id => RateLimitPartition.GetTokenBucketLimiter(id, _ => new TokenBucketRateLimiterOptions
    {
        TokenLimit = options.Value.MessageBurst,
        TokensPerPeriod = options.Value.MessagesPerSecond,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
        AutoReplenishment = true,
    }));

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            await context.Response.WriteAsync("websocket upgrade required\n").ConfigureAwait(false);
            return;
        }

        if (sessions.Draining)
        {
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, "draining", "relay is draining; reconnect through the steering layer").ConfigureAwait(false);
            return;
        }

        if (backhaul.Pool.LinksUp == 0)
        {
            // No link to the core: a session accepted now could only wait. Say so before the upgrade.
            await RefuseAsync(context, StatusCodes.Status503ServiceUnavailable, "backhaul", "no link to the core is up; try another relay").ConfigureAwait(false);
            return;
        }

        var verified = tokens.Verify(context.Request.Query["access_token"]);
        if (verified.Claims is null)
        {
            await RefuseAsync(context, StatusCodes.Status401Unauthorized, "token", verified.Error ?? "invalid token").ConfigureAwait(false);
            return;
        }

        var claims = verified.Claims.ToDictionary();

        string? origin = context.Request.Headers.Origin;
        if (_origins.Count > 0 && origin is not null && !_origins.Contains(origin))
        {
            await RefuseAsync(context, StatusCodes.Status403Forbidden, "origin", $"origin '{origin}' is not allowed").ConfigureAwait(false);
            return;
        }

        var ip = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (!_perIp.TryAcquire(ip))
        {
            await RefuseAsync(context, StatusCodes.Status429TooManyRequests, "per-ip", $"more than {_options.MaxSessionsPerIp} sessions from one address").ConfigureAwait(false);
            return;
        }

        try
        {
            using var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
            {
                DangerousEnableCompression = _options.EnableCompression,
                KeepAliveInterval = _options.KeepAliveInterval,
                KeepAliveTimeout = _options.KeepAliveTimeout,
            }).ConfigureAwait(false);

            // Optimistic open: no round trip to the core before the client's first message goes out.
            string sessionKey = $"{claims["site"]}/{claims["sub"]}";
            var stream = backhaul.Pool.OpenStream(new OpenInfo(sessionKey, $"{ip}:{context.Connection.RemotePort}", claims));
            var session = new RelaySession(socket, stream, _options, metrics, _rate, Interlocked.Increment(ref _nextSession), logger);
            var run = session.RunAsync();
            long id = sessions.Add(session);
            metrics.SessionOpened();
            Log.SessionOpened(logger, sessionKey, stream.Id);
            try
            {
                await run.ConfigureAwait(false);
            }
            finally
            {
                sessions.Remove(id);
                metrics.SessionClosed(session.CloseCode);
                Log.SessionClosed(logger, sessionKey, session.CloseCode);
                if (stream.CloseInfo is null)
                {
                    // The close is on its way to the core; give its answer a moment, then reset the stream.
                    await stream.Completion.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                    stream.Abort(1001, "session ended");
                }
            }
        }
        finally
        {
            _perIp.Release(ip);
        }
    }

    private async Task RefuseAsync(HttpContext context, int status, string metric, string reason)
    {
        metrics.Refused(metric);
        Log.Refused(logger, status, reason);
        context.Response.StatusCode = status;
        await context.Response.WriteAsync(reason + "\n").ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(1000, LogLevel.Debug, "Upgrade refused with {Status}: {Reason}")]
        public static partial void Refused(ILogger logger, int status, string reason);

        [LoggerMessage(1001, LogLevel.Debug, "Session {Key} opened on stream {Stream}")]
        public static partial void SessionOpened(ILogger logger, string key, ulong stream);

        [LoggerMessage(1002, LogLevel.Debug, "Session {Key} closed with {Code}")]
        public static partial void SessionClosed(ILogger logger, string key, int code);
    }
}
