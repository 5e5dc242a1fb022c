namespace Relay.Gateway.Metrics;

/// <summary>Where a session's upgrade was taken (the <c>path</c> of <c>relay_gateway_upgrades_total</c>).</summary>
public enum UpgradePath
{
    /// <summary>ASP.NET Core's websockets (HTTP/2, permessage-deflate, anything unusual).</summary>
    Http,

    /// <summary>The connection fast path over a Kestrel connection (a head in pieces, a frame before the 101, <c>SocketSessions</c> off).</summary>
    Connection,

    /// <summary>The session's own socket, on either client listener (<c>Upgrade.SocketUpgrade</c>; over TLS, its TLS stream on it).</summary>
    Socket,
}
