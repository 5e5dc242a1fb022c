using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>
/// One request's way through the edge cache, a request feature shared by the outer middleware (rule, Cache-Status,
/// the stale-if-error pass), the output-caching policy (key, TTL, tags) and the origin guard (did the origin answer).
/// </summary>
internal sealed class EdgeCacheRequest
{
    private EdgeCacheRequest(EdgeCacheRule? rule, string? bypassReason, string edgeKey)
    {
        Rule = rule;
        BypassReason = bypassReason;
        EdgeKey = edgeKey;
    }

    /// <summary>The matching rule; null when none matched.</summary>
    public EdgeCacheRule? Rule { get; }

    /// <summary>Why the cache does not take this request (RFC 9211 <c>fwd</c>: bypass, method, request); null when it does.</summary>
    public string? BypassReason { get; }

    public bool Cacheable => BypassReason is null;

    /// <summary>The entry's identity as output caching's key has it (method, host, path, the query unless ignored, Accept-Encoding, the vary header), hashed.</summary>
    public string EdgeKey { get; }

    public StaleRead Read { get; } = new();

    /// <summary>The request reached the origin guard: the cache did not answer it.</summary>
    public bool OriginCalled { get; set; }

    /// <summary>The fill of this key that this request leads (<see cref="CacheFills"/>), until it is answered or ends.</summary>
    internal CacheFills.Fill? Fill { get; set; }

    /// <summary>The origin's status when it was forwarded (set at the response's start).</summary>
    public int? OriginStatus { get; set; }

    /// <summary>A stale entry existed when the request was forwarded (Cache-Status <c>fwd=stale</c>).</summary>
    public bool HadStale { get; set; }

    /// <summary>The origin failed (502/503/504 or an exception) and its answer was held back: serve stale instead.</summary>
    public int? SuppressedFailure { get; set; }

    /// <summary>This is the second pass, after <see cref="SuppressedFailure"/>: only a stale entry may answer.</summary>
    public bool StalePass { get; set; }

    /// <summary>The client's If-None-Match and If-Modified-Since, taken off the request to the origin; put back for the stale-if-error pass.</summary>
    public (StringValues IfNoneMatch, StringValues IfModifiedSince) Conditional { get; set; }

    /// <summary>The stale-if-error pass found no stale entry either (it answered with the origin's failure).</summary>
    public bool StaleMissed { get; set; }

    /// <summary>The origin's Cache-Tag header, read at the response's start (before it is removed for the client).</summary>
    public string? OriginTags { get; set; }

    /// <summary>What the response was, for the metrics: set at its start.</summary>
    public EdgeCacheResult Result { get; set; }

    /// <summary>Body bytes the edge served in place of the origin (a hit's or stale response's Content-Length).</summary>
    public long BytesSaved { get; set; }

    public static EdgeCacheRequest For(HttpContext context, EdgeCacheRule? rule)
    {
        var request = context.Request;
        string? bypass = rule is null || !rule.Caches ? "bypass"
            : !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)) ? "method"
            : request.Headers.Authorization.Count > 0 ? "request"
            : null;
        if (bypass is not null)
        {
            return new EdgeCacheRequest(rule, bypass, string.Empty);
        }

        var key = new StringBuilder()
            .Append(request.Method).Append('\n')
            .Append(request.Scheme).Append('\n')
            .Append(request.Host.Value?.ToUpperInvariant()).Append('\n') // with the port: output caching's key has both
            .Append(request.Path.Value).Append('\n'); // as the origin gets it: paths are case-sensitive
        if (!rule!.Options.IgnoreQueryString)
        {
            key.Append(request.QueryString.Value);
        }

        key.Append('\n').Append(request.Headers.AcceptEncoding.ToString());
        if (rule.Options.VaryByHeader is { Length: > 0 } header)
        {
            key.Append('\n').Append(header).Append('=').Append(request.Headers[header].ToString());
        }

        string edgeKey = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key.ToString())).AsSpan(0, 16));
        return new EdgeCacheRequest(rule, null, edgeKey);
    }
}
