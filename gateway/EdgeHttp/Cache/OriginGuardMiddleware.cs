using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// Between output caching and the forwarding: runs only when the cache did not answer. Marks the request as forwarded,
/// asks the origin for the full response of a cacheable request (conditional headers removed: the edge answers 304s
/// from what it stores), and, when a stale copy could answer, holds back an origin failure (502/503/504 or an
/// exception) so the edge cache middleware can serve the stale copy instead.
/// </summary>
internal sealed class OriginGuardMiddleware(RequestDelegate next, EdgeCacheStore store)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Features.Get<EdgeCacheRequest>();
        if (request is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        if (request.StalePass)
        {
            // The stale entry went away between the two passes: answer with the origin's failure, without asking it again.
            request.StaleMissed = true;
            context.Response.StatusCode = request.SuppressedFailure ?? StatusCodes.Status502BadGateway;
            context.Response.ContentType = "text/plain; charset=utf-8";
            await context.Response.WriteAsync("origin unavailable and no stale copy at the edge\n").ConfigureAwait(false);
            return;
        }

        request.OriginCalled = true;
        if (!request.Cacheable)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        request.Conditional = (context.Request.Headers.IfNoneMatch, context.Request.Headers.IfModifiedSince);
        context.Request.Headers.Remove(HeaderNames.IfNoneMatch);
        context.Request.Headers.Remove(HeaderNames.IfModifiedSince);
        request.HadStale = request.Rule!.StaleIfError > TimeSpan.Zero && store.HasStale(request.EdgeKey);
        if (!request.HadStale)
        {
            await next(context).ConfigureAwait(false);
            NotStoredIfCut(context);
            return;
        }

        var prior = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var guard = new SuppressingBodyFeature(prior, () => IsFailure(context.Response.StatusCode));
        context.Features.Set<IHttpResponseBodyFeature>(guard);
        try
        {
            await next(context).ConfigureAwait(false);
            NotStoredIfCut(context);
            if (guard.Suppressed || (IsFailure(context.Response.StatusCode) && !context.Response.HasStarted))
            {
                request.SuppressedFailure = context.Response.StatusCode;
            }
        }
        catch (Exception) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            // The origin gave no answer at all. A 502 (not a 200 with nothing in it) is what output caching sees: not stored.
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            request.SuppressedFailure = StatusCodes.Status502BadGateway;
        }
        finally
        {
            context.Features.Set(prior);
        }
    }

    /// <summary>
    /// A response whose forwarding failed after it started (the origin's body stopped halfway, the client went away) is
    /// not stored: output caching stores what it buffered once the request ends, and checks the length only when the
    /// response declared one. Without this a cut body without Content-Length was served to everyone as a whole one.
    /// </summary>
    private static void NotStoredIfCut(HttpContext context)
    {
        if (context.RequestAborted.IsCancellationRequested
            || context.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>() is { Error: not Yarp.ReverseProxy.Forwarder.ForwarderError.None })
        {
            if (context.Features.Get<Microsoft.AspNetCore.OutputCaching.IOutputCacheFeature>() is { } cache)
            {
                cache.Context.AllowCacheStorage = false;
            }
        }
    }

    /// <summary>The origin (or the forwarding to it) failed: 502, 503 or 504.</summary>
    public static bool IsFailure(int status) => status is StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status504GatewayTimeout;
}
