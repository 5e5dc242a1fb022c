using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Relay.CoreSim.Backhaul;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: on a request that came over a backhaul HTTP stream (<see cref="IBackhaulHttpFeature"/>), the relay's
/// <c>X-Forwarded-For</c> (its last entry: the address the relay determined) becomes the connection's remote address and
/// <c>X-Forwarded-Proto</c> the request's scheme; the relay id is the link's, never a header. On any other connection
/// (direct to core-sim) the forwarding headers are removed: nobody but a relay can claim a client address.
/// </summary>
internal static class RelayForwardedHeaders
{
    private static readonly string[] s_headers = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "Forwarded"];

    public static IApplicationBuilder UseRelayForwardedHeaders(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        Apply(context);
        return next(context);
    });

    /// <summary>The relay a request came through, or null when it came direct.</summary>
    public static string? RelayOf(HttpContext context) => context.Features.Get<IBackhaulHttpFeature>()?.RelayId;

    private static void Apply(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (context.Features.Get<IBackhaulHttpFeature>() is not { } relay)
        {
            foreach (string name in s_headers)
            {
                headers.Remove(name);
            }

            return;
        }

        string? forwardedFor = headers["X-Forwarded-For"].LastOrDefault();
        string? last = forwardedFor?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        context.Connection.RemoteIpAddress = IPAddress.TryParse(last, out var client) ? client
            : IPAddress.TryParse(relay.OpenClientAddress, out var opened) ? opened : null;
        context.Connection.RemotePort = 0;
        if (headers["X-Forwarded-Proto"].LastOrDefault() is { } proto && proto is "http" or "https")
        {
            context.Request.Scheme = proto;
        }
    }
}
