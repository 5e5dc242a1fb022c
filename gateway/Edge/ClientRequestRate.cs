using System.Net;
using Relay.Gateway.Configuration;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Edge;

/// <summary>
/// Requests per second per client to the relay's own HTTP endpoints (<see cref="GatewayOptions.HttpRequestsPerSecondPerClient"/>):
/// a token bucket each (<see cref="ClientRate"/>, on the host's <see cref="TimeProvider"/>); beyond it 429 with
/// <c>Retry-After: 1</c>, counted in <c>relay_gateway_http_rate_refusals_total</c>. A security review measured a
/// <c>/metrics</c> scrape at about 1.1 ms of CPU (0.15 ms for <c>/healthz</c>): one client on one keep-alive connection
/// could take a core of a small relay, and nothing limited requests on a connection. <c>/ws</c> is not counted
/// (sessions have their own limits, and an upgrade's refusals count against the connection); neither are the edge HTTP
/// prefixes, whose branch ends before this middleware (<c>EdgeHttp:MaxRequestsPerClient</c>); nor a trusted proxy's own
/// requests (its health checks, with a PROXY LOCAL header, come from its own address; what it forwards counts per client).
/// </summary>
internal static class ClientRequestRate
{
    public static void Use(WebApplication app, GatewayOptions options)
    {
        if (options.HttpRequestsPerSecondPerClient <= 0)
        {
            return;
        }

        var rate = new ClientRate(options.HttpRequestsPerSecondPerClient, options.HttpRequestBurstPerClient, app.Services.GetRequiredService<TimeProvider>());
        var metrics = app.Services.GetRequiredService<GatewayMetrics>();
        var trusted = app.Services.GetRequiredService<ConnectionGate>().Trusted;
        string refusal = $"http-rate: more than {rate.PerSecond} requests a second from one client (Gateway:HttpRequestsPerSecondPerClient)\n";
        app.Use(async (context, next) =>
        {
            var client = context.Connection.RemoteIpAddress ?? IPAddress.None;
            bool session = context.Request.Path.StartsWithSegments("/ws", out var rest) && rest.Value is null or "" or "/";
            if (session || trusted.Contains(client) || rate.TryTake(client))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            metrics.HttpRateRefused();
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers.RetryAfter = "1";
            await context.Response.WriteAsync(refusal, context.RequestAborted).ConfigureAwait(false);
        });
    }
}
