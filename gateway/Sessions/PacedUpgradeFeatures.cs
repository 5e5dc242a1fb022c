using Microsoft.AspNetCore.Http.Features;

namespace Relay.Gateway.Sessions;

/// <summary>
/// With permessage-deflate on (<c>Gateway:EnableCompression</c>) ASP.NET Core's websocket middleware accepts the session
/// itself (it negotiates the extension), over the stream its upgrade features return. Set in front of that middleware on
/// <c>/ws</c>, these wrap those features so that the stream is a <see cref="PacedStream"/>: the session's pongs are paced
/// like its messages on that path too (control frames are never compressed, RFC 7692 §6.1, so the pong check still reads
/// them). Without deflate the endpoint accepts over a paced stream itself (<see cref="SessionEndpoint"/>).
/// </summary>
internal static class PacedUpgradeFeatures
{
    /// <summary>Wraps the request's HTTP/1.1 upgrade and HTTP/2 extended CONNECT features, where it has them.</summary>
    public static void Wrap(HttpContext context, PongRate pongs)
    {
        var features = context.Features;
        if (features.Get<IHttpUpgradeFeature>() is { } upgrade)
        {
            features.Set<IHttpUpgradeFeature>(new Upgrade(upgrade, pongs));
        }

        if (features.Get<IHttpExtendedConnectFeature>() is { } connect)
        {
            features.Set<IHttpExtendedConnectFeature>(new ExtendedConnect(connect, pongs));
        }
    }

    private sealed class Upgrade(IHttpUpgradeFeature inner, PongRate pongs) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => inner.IsUpgradableRequest;

        public async Task<Stream> UpgradeAsync() => new PacedStream(await inner.UpgradeAsync().ConfigureAwait(false)) { Pongs = pongs };
    }

    private sealed class ExtendedConnect(IHttpExtendedConnectFeature inner, PongRate pongs) : IHttpExtendedConnectFeature
    {
        public bool IsExtendedConnect => inner.IsExtendedConnect;

        public string? Protocol => inner.Protocol;

        public async ValueTask<Stream> AcceptAsync() => new PacedStream(await inner.AcceptAsync().ConfigureAwait(false)) { Pongs = pongs };
    }
}
