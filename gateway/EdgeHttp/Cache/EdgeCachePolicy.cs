using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// Output caching's policy from the edge cache rules: the only base policy, acting on requests the edge cache middleware
/// took (<see cref="EdgeCacheRequest"/>); every other request passes untouched.
/// </summary>
internal sealed class EdgeCachePolicy(IOptions<EdgeCacheOptions> options) : IOutputCachePolicy
{
    private readonly long _maximumBody = options.Value.MaximumBodyBytes;

    public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellation)
    {
        var request = context.HttpContext.Features.Get<EdgeCacheRequest>();
        if (request is not { Cacheable: true, Rule: { } rule })
        {
            context.EnableOutputCaching = false;
            return ValueTask.CompletedTask;
        }

        context.EnableOutputCaching = true;
        context.AllowCacheLookup = true;
        context.AllowCacheStorage = !request.StalePass;
        context.AllowLocking = false; // request coalescing is CacheFills' (with a deadline), in front of output caching
        context.ResponseExpirationTimeSpan = rule.EdgeTtl;
        context.CacheVaryByRules.VaryByHost = true;
        if (!rule.Options.IgnoreQueryString)
        {
            // The query as the origin gets it, not output caching's parsed one (keys upper-cased, pairs sorted): `?V=x`
            // and `?v=x` are two requests to the origin, so two entries (a security review found one serving the other).
            context.CacheVaryByRules.VaryByValues["query"] = context.HttpContext.Request.QueryString.Value ?? "";
        }

        // Accept-Encoding is always part of the key: a body the origin compressed is served only to clients that sent
        // the same Accept-Encoding (browsers send one value each), never a gzip body to a client that cannot read it.
        context.CacheVaryByRules.HeaderNames = rule.Options.VaryByHeader is { Length: > 0 } header
            ? new StringValues([header, HeaderNames.AcceptEncoding])
            : HeaderNames.AcceptEncoding;

        EdgeCacheTags.AddPathTags(context.Tags, context.HttpContext.Request.Path.Value ?? "/");
        foreach (string tag in rule.Options.Tags)
        {
            context.Tags.Add(EdgeCacheTags.ForTag(tag));
        }

        context.Tags.Add(EdgeCacheTags.KeyPrefix + request.EdgeKey);
        context.Tags.Add(EdgeCacheTags.StalePrefix + ((int)rule.StaleIfError.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        return ValueTask.CompletedTask;
    }

    public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellation) => ValueTask.CompletedTask;

    public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellation)
    {
        var response = context.HttpContext.Response;
        var request = context.HttpContext.Features.Get<EdgeCacheRequest>();
        if (request is null || !Storable(response, _maximumBody))
        {
            context.AllowCacheStorage = false;
            return ValueTask.CompletedTask;
        }

        string? originTags = request.OriginTags ?? response.Headers[EdgeCacheTags.CacheTagHeader].ToString();
        int added = request.Rule?.Options.Tags.Length ?? 0;
        foreach (string tag in (originTags ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (added++ >= EdgeCacheTags.MaxTagsPerEntry)
            {
                break;
            }

            if (tag.Length <= EdgeCacheOptionsValidator.MaxTagLength)
            {
                context.Tags.Add(EdgeCacheTags.ForTag(tag));
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Whether a forwarded response is stored: 200, no Set-Cookie (one user's cookie is never served to another), and a
    /// body within the size bound when its length is known. Decided at the response's start, so Cache-Status can say
    /// <c>stored</c> (output caching drops a body that turns out longer than its bound).
    /// </summary>
    public static bool Storable(HttpResponse response, long maximumBody) =>
        response.StatusCode == StatusCodes.Status200OK
        && response.Headers.SetCookie.Count == 0
        && (response.ContentLength is null || response.ContentLength <= maximumBody);
}
