using System.Net;
using System.Security.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Relay.Gateway.EdgeHttp;

/// <summary>
/// Forwards one request to the core with YARP's <see cref="IHttpForwarder"/> over a <see cref="SocketsHttpHandler"/>
/// whose connections are backhaul streams (<see cref="BackhaulConnector"/>): HTTP/1.1 inside, bodies streamed both
/// ways (the stream's window is the backpressure), pooled so warm requests reuse a stream. A failure the client can
/// still be told about is a proxy error: 502 or 504 (413 for a body over the cap) with RFC 9209 <c>Proxy-Status</c>
/// and a one-line body naming the reason.
/// </summary>
internal sealed partial class EdgeHttpForwarder : IDisposable
{
    /// <summary>The authority every forwarded request is pooled under (the connections are streams, not sockets).</summary>
    internal const string Destination = "http://core.backhaul/";

    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly ForwarderRequestConfig _config;
    private readonly EdgeHttpTransformer _transformer;
    private readonly EdgeHttpOptions _options;
    private readonly string _proxyName;
    private readonly ILogger _logger;
    private readonly Edge.IpLimiter _perClient;

    public EdgeHttpForwarder(IHttpForwarder forwarder, BackhaulService backhaul, IOptions<EdgeHttpOptions> options, IOptions<GatewayOptions> gateway, ILogger<EdgeHttpForwarder> logger)
    {
        _forwarder = forwarder;
        _options = options.Value;
        _perClient = new Edge.IpLimiter(_options.MaxRequestsPerClient);
        _logger = logger;
        var connector = new BackhaulConnector(backhaul);
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ActivityHeadersPropagator = null,
            ConnectCallback = connector.ConnectAsync,
            ConnectTimeout = _options.Timeout,
            MaxConnectionsPerServer = _options.MaxConnections,
            PooledConnectionIdleTimeout = _options.IdleConnectionTimeout,
            MaxResponseHeadersLength = Math.Max(1, _options.MaxResponseHeadersBytes / 1024),
            EnableMultipleHttp2Connections = false,
        });
        _config = new ForwarderRequestConfig
        {
            ActivityTimeout = _options.Timeout,
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            AllowResponseBuffering = false,
        };
        string relayId = gateway.Value.Backhaul.RelayId;
        _transformer = new EdgeHttpTransformer(relayId);
        _proxyName = "\"" + relayId.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>Forwards the request; on a failure answers with the proxy error when the response has not started.</summary>
    public async Task ForwardAsync(HttpContext context)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = _options.MaxRequestBodySize;
        }

        if (context.Request.ContentLength > _options.MaxRequestBodySize)
        {
            await FailAsync(context, StatusCodes.Status413PayloadTooLarge, "http_request_error", $"request body of {context.Request.ContentLength} bytes is over the relay's limit of {_options.MaxRequestBodySize}").ConfigureAwait(false);
            return;
        }

        // One client holds at most MaxRequestsPerClient of the pool's connections to the core at once: slow requests
        // from one address (HTTP/2: 16 connections x 100 streams) cannot hold everyone's pool.
        var client = context.Connection.RemoteIpAddress is { } address ? (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address) : IPAddress.None;
        if (!_perClient.TryAcquire(client))
        {
            await FailAsync(context, StatusCodes.Status429TooManyRequests, "http_request_denied", $"more than {_options.MaxRequestsPerClient} requests in flight from this address").ConfigureAwait(false);
            return;
        }

        try
        {
            await SendAsync(context).ConfigureAwait(false);
        }
        finally
        {
            _perClient.Release(client);
        }
    }

    private async Task SendAsync(HttpContext context)
    {
        var error = await _forwarder.SendAsync(context, Destination, _invoker, _config, _transformer).ConfigureAwait(false);
        if (error == ForwarderError.None)
        {
            return;
        }

        var exception = context.GetForwarderErrorFeature()?.Exception;
        Log.ForwardFailed(_logger, context.Request.Path, error, exception?.Message ?? string.Empty);
        if (context.Response.HasStarted)
        {
            return; // YARP aborted the client's connection: a cut body is never taken for a whole one
        }

        var (status, kind, details) = Describe(error, exception, context.Response.StatusCode);
        await FailAsync(context, status, kind, details).ConfigureAwait(false);
    }

    /// <summary>The status, RFC 9209 error type and a sentence for a forwarding failure.</summary>
    internal (int Status, string Kind, string Details) Describe(ForwarderError error, Exception? exception, int yarpStatus)
    {
        if (Find<BadHttpRequestException>(exception) is { StatusCode: StatusCodes.Status413PayloadTooLarge })
        {
            return (StatusCodes.Status413PayloadTooLarge, "http_request_error", $"request body over the relay's limit of {_options.MaxRequestBodySize} bytes");
        }

        if (Find<HttpRequestException>(exception) is { } http && http.Message.Contains(BackhaulConnector.NoLink, StringComparison.Ordinal))
        {
            return (StatusCodes.Status502BadGateway, "destination_unavailable", BackhaulConnector.NoLink);
        }

        return error switch
        {
            ForwarderError.RequestTimedOut => (StatusCodes.Status504GatewayTimeout, "http_response_timeout", $"the core sent nothing for {_options.Timeout.TotalSeconds:0.###} s"),
            ForwarderError.Request or ForwarderError.RequestCreation => (StatusCodes.Status502BadGateway, "connection_terminated", "the backhaul stream to the core failed: " + Sentence(exception)),
            ForwarderError.ResponseHeaders => (StatusCodes.Status502BadGateway, "http_response_incomplete", "the core's response head was bad or too large: " + Sentence(exception)),
            ForwarderError.RequestBodyClient or ForwarderError.RequestBodyCanceled => (StatusCodes.Status400BadRequest, "http_request_error", "the client's request body failed: " + Sentence(exception)),
            ForwarderError.RequestBodyDestination => (StatusCodes.Status502BadGateway, "connection_terminated", "the core stopped taking the request body: " + Sentence(exception)),
            _ => (yarpStatus >= 400 ? yarpStatus : StatusCodes.Status502BadGateway, "proxy_internal_error", error + ": " + Sentence(exception)),
        };
    }

    public void Dispose() => _invoker.Dispose();

    private async Task FailAsync(HttpContext context, int status, string kind, string details)
    {
        var response = context.Response;
        response.Clear();
        response.StatusCode = status;
        response.Headers["Proxy-Status"] = $"{_proxyName}; error={kind}; details=\"{details.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "'", StringComparison.Ordinal)}\"";
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/plain; charset=utf-8";
        await response.WriteAsync($"{status} {ReasonPhrase(status)}: {details}\n", context.RequestAborted).ConfigureAwait(false);
    }

    private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status).ToLowerInvariant();

    private static string Sentence(Exception? exception)
    {
        string text = (exception?.InnerException is IOException or AuthenticationException ? exception.InnerException : exception)?.Message ?? "unknown";
        text = text.ReplaceLineEndings(" ");
        return text.Length > 200 ? text[..200] : text;
    }

    private static T? Find<T>(Exception? exception) where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }
}
