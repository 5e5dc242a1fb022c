using Microsoft.Extensions.Options;

namespace Relay.Gateway.EdgeHttp;

/// <summary>Validates <see cref="EdgeHttpOptions"/> at start: the first bad setting, one line naming it.</summary>
internal sealed class EdgeHttpOptionsValidator : IValidateOptions<EdgeHttpOptions>
{
    /// <summary>The gateway's own paths: a prefix may not cover them.</summary>
    internal static readonly string[] OwnPaths = ["/ws", "/healthz", "/readyz", "/status", "/metrics", "/admin/", "/challenge", "/v1/negotiate", "/tunnel", "/demo/", "/relay-client.global.js"];

    public ValidateOptionsResult Validate(string? name, EdgeHttpOptions options) =>
        Check(options) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    private static string? Check(EdgeHttpOptions o)
    {
        const string s = EdgeHttpOptions.Section;
        for (int i = 0; i < o.Prefixes.Length; i++)
        {
            string p = o.Prefixes[i];
            if (p.Length < 3 || p[0] != '/' || p[^1] != '/' || p.Contains("//", StringComparison.Ordinal))
            {
                return $"{s}:Prefixes:{i} must be a path that starts and ends with '/', e.g. /api/; was '{p}'.";
            }

            // Covering means either way: /a/ covers /admin/ (a prefix above it), and /status/ or /admin/cache/ lie inside the
            // gateway's own (a prefix also takes the path without its last slash, and /admin/cache/ would forward the purge).
            if (OwnPaths.FirstOrDefault(own => own.StartsWith(p, StringComparison.OrdinalIgnoreCase) || p.StartsWith(own.TrimEnd('/') + "/", StringComparison.OrdinalIgnoreCase)) is { } taken)
            {
                return $"{s}:Prefixes:{i} '{p}' covers the gateway's own {taken}.";
            }
        }

        if (o.Timeout < TimeSpan.FromMilliseconds(100) || o.Timeout > TimeSpan.FromHours(1)) return $"{s}:Timeout must be 100 ms to 1 h; was {o.Timeout}.";
        if (o.MaxRequestBodySize < 0) return $"{s}:MaxRequestBodySize must not be negative; was {o.MaxRequestBodySize}.";
        if (o.MaxResponseHeadersBytes is < 1024 or > 1024 * 1024) return $"{s}:MaxResponseHeadersBytes must be 1 KiB to 1 MiB; was {o.MaxResponseHeadersBytes}.";
        if (o.MaxConnections is < 1 or > 100_000) return $"{s}:MaxConnections must be 1 to 100000; was {o.MaxConnections}.";
        if (o.MaxRequestsPerClient is < 1 or > 100_000) return $"{s}:MaxRequestsPerClient must be 1 to 100000; was {o.MaxRequestsPerClient}.";
        if (o.IdleConnectionTimeout < TimeSpan.FromSeconds(1)) return $"{s}:IdleConnectionTimeout must be at least 1 s; was {o.IdleConnectionTimeout}.";
        return null;
    }
}
