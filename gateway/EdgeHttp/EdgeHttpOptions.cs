using Relay.Gateway.Configuration;

namespace Relay.Gateway.EdgeHttp;

/// <summary>
/// Edge HTTP (issue 18, "Gateway:EdgeHttp"): requests under <see cref="Prefixes"/> go to the core over the warm
/// backhaul, one backhaul stream per forwarded HTTP/1.1 connection.
/// </summary>
public sealed class EdgeHttpOptions
{
    public const string Section = GatewayOptions.Section + ":EdgeHttp";

    /// <summary>The prefixes used when <see cref="Prefixes"/> names none.</summary>
    public static readonly string[] DefaultPrefixes = ["/api/", "/assets/", "/files/"];

    /// <summary>Forward requests under <see cref="Prefixes"/> to the core. Defaults to true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Path prefixes forwarded to the core (<c>Prefixes:0</c>, <c>:1</c>, …), each starting and ending with <c>/</c>.
    /// Defaults to <see cref="DefaultPrefixes"/> when none is set (empty here: the binder appends to a pre-filled array).
    /// </summary>
    public string[] Prefixes { get; set; } = [];

    /// <summary>
    /// Longest silence (no byte either way) in a forwarded request before it fails with 504 (YARP's activity timeout).
    /// Defaults to 60 s.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest request body forwarded; a larger one gets 413. Defaults to 100 MiB.</summary>
    public long MaxRequestBodySize { get; set; } = 100 * 1024 * 1024;

    /// <summary>Largest response head from the core, in bytes; a larger one is a 502. Defaults to 64 KiB.</summary>
    public int MaxResponseHeadersBytes { get; set; } = 64 * 1024;

    /// <summary>Concurrent forwarded connections (backhaul streams) to the core; more requests wait for one. Defaults to 1024.</summary>
    public int MaxConnections { get; set; } = 1024;

    /// <summary>
    /// Forwarded requests one client address may have in flight at once; beyond it a request is answered 429
    /// (<c>Proxy-Status: error=http_request_denied</c>) without reaching the core. Defaults to 64: one address cannot
    /// hold the pool's <see cref="MaxConnections"/> with slow requests.
    /// </summary>
    public int MaxRequestsPerClient { get; set; } = 64;

    /// <summary>An idle forwarded connection (its stream) is closed after this long. Defaults to 60 s.</summary>
    public TimeSpan IdleConnectionTimeout { get; set; } = TimeSpan.FromSeconds(60);
}
