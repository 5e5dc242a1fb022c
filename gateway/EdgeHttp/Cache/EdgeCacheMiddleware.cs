using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// The edge cache's outer middleware, in front of output caching and the forwarding: picks the rule, answers with
/// <c>Cache-Status</c> (RFC 9211) and the rule's browser TTL, counts the result, and serves stale on an origin failure.
/// </summary>
/// <remarks>
/// Stale-if-error: output caching has none (a stale entry is a miss, and the origin's error goes to the client). Here
/// the store keeps an entry past its TTL for the rule's stale window (<see cref="EdgeCacheStore"/>); when the origin then
/// fails, <see cref="OriginGuardMiddleware"/> holds its error back unsent, and this middleware runs the rest of the
/// pipeline a second time with <see cref="StaleRead.AllowStale"/>: output caching looks the entry up again, and the store
/// now returns it. Output caching serves it as it serves any entry (headers, body, 304 on If-None-Match); nothing is
/// stored on that pass and the origin is not asked again.
/// </remarks>
internal sealed class EdgeCacheMiddleware
{
    private const string CacheName = "Relay";
    private static readonly Func<object, Task> s_onStarting = OnStarting;
    private readonly RequestDelegate _next;
    private readonly Func<HttpContext, bool> _scope;
    private readonly EdgeCacheRules _rules;
    private readonly EdgeCacheMetrics _metrics;
    private readonly bool _enabled;
    private readonly long _maximumBody;
    private readonly EdgeCacheStore _store;
    private readonly CacheFills _fills;
    private readonly TimeSpan _lockTimeout;
    private readonly TimeProvider _time;

    public EdgeCacheMiddleware(RequestDelegate next, Func<HttpContext, bool> scope, EdgeCacheRules rules, EdgeCacheMetrics metrics, IOptions<EdgeCacheOptions> options, EdgeCacheStore store, CacheFills fills, TimeProvider time)
    {
        _next = next;
        _scope = scope;
        _rules = rules;
        _metrics = metrics;
        _enabled = options.Value.Enabled;
        _maximumBody = options.Value.MaximumBodyBytes;
        _store = store;
        _fills = fills;
        _lockTimeout = TimeSpan.FromMilliseconds(options.Value.LockTimeoutMilliseconds);
        _time = time;
    }

    public async Task InvokeAsync(HttpContext context)
    {
        if (!_scope(context))
        {
            await _next(context).ConfigureAwait(false);
            return;
        }

        var rule = _enabled ? _rules.Match(context.Request.Host.Host, context.Request.Path.Value ?? "/") : null;
        var request = EdgeCacheRequest.For(context, rule);
        context.Features.Set(request);
        context.Response.OnStarting(s_onStarting, new Starting(context, request, _maximumBody));
        StaleRead.Current = request.Read;
        try
        {
            if (request.Cacheable && _lockTimeout > TimeSpan.Zero && !_store.IsFresh(request.EdgeKey))
            {
                var fill = _fills.Join(request.EdgeKey, out bool leads);
                if (leads)
                {
                    request.Fill = fill;
                }
                else
                {
                    // Another request is filling this key: wait for it, not longer than the deadline (CacheFills).
                    await fill.Done.WaitAsync(_lockTimeout, _time, context.RequestAborted).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                    context.RequestAborted.ThrowIfCancellationRequested();
                    if (!fill.Done.IsCompleted)
                    {
                        // Past the deadline: that fill no longer holds the key, so the next request leads a new one and a
                        // slow first reader delays only the requests of its first deadline. The others that wait for it
                        // keep their own deadlines.
                        fill.Detach();
                    }
                }
            }

            await _next(context).ConfigureAwait(false);
            if (request.SuppressedFailure is not null && !context.Response.HasStarted)
            {
                // The origin failed and a stale copy exists: answer from it (see the remarks).
                context.Response.Clear();
                request.StalePass = true;
                request.Read.AllowStale = true;
                request.Read.Ttl = null;
                RestoreConditional(context.Request.Headers, request.Conditional);
                await _next(context).ConfigureAwait(false);
            }
        }
        finally
        {
            request.Fill?.Complete();
            StaleRead.Current = null;
            context.Features.Set<EdgeCacheRequest?>(null);
            _metrics.Record(request.Result, request.BytesSaved);
        }
    }

    private static Task OnStarting(object state)
    {
        var (context, request, maximumBody) = (Starting)state;
        var response = context.Response;
        var headers = response.Headers;
        request.OriginTags = headers[EdgeCacheTags.CacheTagHeader].ToString();
        headers.Remove(EdgeCacheTags.CacheTagHeader);
        string status;
        if (!request.Cacheable)
        {
            request.Result = EdgeCacheResult.Bypass;
            status = $"{CacheName}; fwd={request.BypassReason}";
        }
        else if (request.StalePass && !request.StaleMissed)
        {
            request.Result = EdgeCacheResult.Stale;
            request.BytesSaved = response.ContentLength ?? 0;
            status = $"{CacheName}; fwd=stale; fwd-status={request.SuppressedFailure}{Ttl(request.Read.Ttl)}; detail=stale-if-error";
        }
        else if (request.StalePass)
        {
            request.Result = EdgeCacheResult.Miss;
            status = $"{CacheName}; fwd=stale; fwd-status={request.SuppressedFailure}; detail=no-stale-copy";
        }
        else if (!request.OriginCalled)
        {
            request.Fill?.Complete(); // answered from the cache: the key is filled
            request.Result = EdgeCacheResult.Hit;
            request.BytesSaved = response.ContentLength ?? 0;
            status = $"{CacheName}; hit{Ttl(request.Read.Ttl)}";
        }
        else
        {
            request.Result = EdgeCacheResult.Miss;
            request.OriginStatus = response.StatusCode;
            bool stored = EdgeCachePolicy.Storable(response, maximumBody);
            if (!stored)
            {
                request.Fill?.Complete(); // an answer that will not be stored: the waiters go to the origin themselves now
            }

            status = $"{CacheName}; fwd={(request.HadStale ? "stale" : "uri-miss")}; fwd-status={response.StatusCode}{(stored ? "; stored" : string.Empty)}";
        }

        headers["Cache-Status"] = status;
        if (request.Rule?.BrowserCacheControl is { } cacheControl && request.Cacheable)
        {
            headers.CacheControl = cacheControl;
            headers.Remove(HeaderNames.Expires);
        }

        return Task.CompletedTask;
    }

    private static void RestoreConditional(IHeaderDictionary headers, (StringValues IfNoneMatch, StringValues IfModifiedSince) conditional)
    {
        if (conditional.IfNoneMatch.Count > 0)
        {
            headers.IfNoneMatch = conditional.IfNoneMatch;
        }

        if (conditional.IfModifiedSince.Count > 0)
        {
            headers.IfModifiedSince = conditional.IfModifiedSince;
        }
    }

    private static string Ttl(TimeSpan? ttl) =>
        ttl is { } t ? "; ttl=" + ((long)Math.Floor(t.TotalSeconds)).ToString(CultureInfo.InvariantCulture) : string.Empty;

    private sealed record Starting(HttpContext Context, EdgeCacheRequest Request, long MaximumBody);
}
