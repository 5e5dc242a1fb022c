using System.Net;
using Yarp.ReverseProxy.Forwarder;

namespace Relay.Gateway.EdgeHttp;

/// <summary>
/// YARP's default request transform (headers copied, hop-by-hop ones dropped) plus: the client's <c>Host</c> kept,
/// and the client's address, scheme and host given to the core in <c>X-Forwarded-For/Proto/Host</c> and RFC 7239
/// <c>Forwarded</c> (with <c>by=_relayId</c>), replacing whatever the client sent in those headers: the address is
/// the one this relay determined (the connection's, or from <c>Gateway:TrustedProxies</c>), never the client's word.
/// </summary>
internal sealed class EdgeHttpTransformer(string relayId) : HttpTransformer
{
    private static readonly string[] s_forwardingHeaders = ["X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Prefix", "X-Real-IP", "Forwarded"];
    private readonly string _by = "_" + Obfuscated(relayId);

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        var request = httpContext.Request;
        string client = BackhaulConnector.Format(httpContext.Connection.RemoteIpAddress);
        string host = request.Host.Value ?? string.Empty;
        proxyRequest.Headers.Host = host.Length > 0 ? host : null;
        foreach (string name in s_forwardingHeaders)
        {
            proxyRequest.Headers.Remove(name);
        }

        proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-For", client);
        proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-Proto", request.Scheme);
        if (host.Length > 0)
        {
            proxyRequest.Headers.TryAddWithoutValidation("X-Forwarded-Host", host);
        }

        proxyRequest.Headers.TryAddWithoutValidation("Forwarded", Forwarded(httpContext.Connection.RemoteIpAddress, request.Scheme, host, _by));
        proxyRequest.Options.Set(BackhaulConnector.ClientAddress, client);
    }

    /// <summary>One RFC 7239 element: <c>for=…;proto=…;host=…;by=…</c>, quoted where the grammar needs it.</summary>
    internal static string Forwarded(IPAddress? client, string scheme, string host, string by)
    {
        string node = client switch
        {
            null => "unknown",
            { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6, IsIPv4MappedToIPv6: false } => $"\"[{client}]\"",
            _ => BackhaulConnector.Format(client),
        };
        string element = $"for={node};proto={scheme}";
        if (host.Length > 0)
        {
            element += $";host={Quote(host)}";
        }

        return element + $";by={by}";
    }

    private static string Quote(string value) =>
        value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '^' or '`' or '|')
            ? value
            : "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    /// <summary>An RFC 7239 obfuscated node name: letters, digits, '.', '_', '-' only.</summary>
    private static string Obfuscated(string id) =>
        new([.. id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-')]);
}
