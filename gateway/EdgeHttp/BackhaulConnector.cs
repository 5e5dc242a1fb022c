using System.Net;
using Relay.Gateway.Backhaul;
using Relay.Tunnel.Protocol;
using Relay.Tunnel.Streams;

namespace Relay.Gateway.EdgeHttp;

/// <summary>
/// SocketsHttpHandler's ConnectCallback: a new forwarded connection is a new backhaul stream (OPEN kind "http",
/// opened optimistically: the request goes out right behind the OPEN, no round trip to the core first). The
/// handler pools these connections, so a warm request reuses a stream.
/// </summary>
internal sealed class BackhaulConnector(BackhaulService backhaul)
{
    /// <summary>The client address of the request a connection is opened for (the OPEN frame's client address).</summary>
    public static readonly HttpRequestOptionsKey<string> ClientAddress = new("relay.edge.client");

    /// <summary>The text a connect refused for want of a link says (the error mapping looks for it).</summary>
    public const string NoLink = "no backhaul link to the core";

    public ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var pool = backhaul.Pool;
        if (pool.LinksUp == 0)
        {
            // Fail now (502) rather than wait in the pool for a link that may never come.
            throw new HttpRequestException(HttpRequestError.ConnectionError, NoLink);
        }

        string client = context.InitialRequestMessage.Options.TryGetValue(ClientAddress, out var address) ? address : string.Empty;
        var stream = pool.OpenStream(new OpenInfo("http/" + client, client, OpenInfo.NoClaims, StreamKind.Http));
        return ValueTask.FromResult<Stream>(new MuxByteStream(stream));
    }

    /// <summary>The address as the OPEN frame and X-Forwarded-For carry it.</summary>
    public static string Format(IPAddress? address) => address switch
    {
        null => string.Empty,
        { IsIPv4MappedToIPv6: true } => address.MapToIPv4().ToString(),
        _ => address.ToString(),
    };
}
