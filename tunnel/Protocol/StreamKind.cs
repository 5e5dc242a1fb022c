namespace Relay.Tunnel.Protocol;

/// <summary>
/// What a stream carries, from the OPEN frame's optional fifth field (issue 18). A v2 OPEN without it is a
/// <see cref="Session"/>, so relays and cores of before issue 18 still understand each other.
/// </summary>
public enum StreamKind
{
    /// <summary>A chat session: websocket messages (the field absent, or <c>"session"</c>).</summary>
    Session,

    /// <summary>One HTTP/1.1 connection forwarded by the relay's edge HTTP: bytes, in order (<c>"http"</c>).</summary>
    Http,

    /// <summary>A kind this peer does not know (the core refuses such a stream).</summary>
    Unknown,
}
