using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18's fault hooks for tests, on the chat HTTP surface (<c>/api/</c>, <c>/assets/</c>, <c>/files</c>) when
/// <c>CoreSim:HttpFaultHooks</c> is on: <c>?fault=slow&amp;ms=N</c> waits N ms (at most 60,000) before answering;
/// <c>?fault=error&amp;status=S</c> answers S (400-599) with a one-line body; <c>?fault=abort</c> resets the connection.
/// </summary>
internal static class HttpFaultHooks
{
    public static IApplicationBuilder UseHttpFaultHooks(this IApplicationBuilder app, TimeProvider time) => app.Use(async (context, next) =>
    {
        var request = context.Request;
        if (!request.Query.TryGetValue("fault", out var fault) || !ChatSurface(request.Path))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        switch (fault.ToString())
        {
            case "slow" when int.TryParse(request.Query["ms"], NumberStyles.None, CultureInfo.InvariantCulture, out int ms) && ms <= 60_000:
                await Task.Delay(TimeSpan.FromMilliseconds(ms), time, context.RequestAborted).ConfigureAwait(false);
                await next(context).ConfigureAwait(false);
                return;
            case "error" when int.TryParse(request.Query["status"], NumberStyles.None, CultureInfo.InvariantCulture, out int status) && status is >= 400 and <= 599:
                context.Response.StatusCode = status;
                context.Response.Headers.CacheControl = "no-store";
                await context.Response.WriteAsync($"fault injected: {status}\n", context.RequestAborted).ConfigureAwait(false);
                return;
            case "abort":
                context.Abort();
                return;
            default:
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                await context.Response.WriteAsync("fault must be slow&ms=0-60000, error&status=400-599 or abort\n", context.RequestAborted).ConfigureAwait(false);
                return;
        }
    });

    public static bool ChatSurface(PathString path) =>
        path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/assets", StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/files", StringComparison.OrdinalIgnoreCase);
}
