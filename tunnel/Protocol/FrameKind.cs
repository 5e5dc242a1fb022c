namespace Relay.Tunnel.Protocol;

/// <summary>
/// The kind of a backhaul frame. Kinds below <see cref="FirstOptional"/> are required: a peer
/// that does not know one closes the link. Kinds from <see cref="FirstOptional"/> up are optional:
/// a peer that does not know one skips it (forward compatibility).
/// </summary>
internal enum FrameKind : byte
{
    /// <summary>Dialer → acceptor: protocol version, relay id, region, nonce, receive window.</summary>
    Hello = 1,
    /// <summary>Acceptor → dialer: acceptor nonce and its proof of the shared key.</summary>
    Challenge = 2,
    /// <summary>Dialer → acceptor: the dialer's proof of the shared key.</summary>
    Proof = 3,
    /// <summary>Acceptor → dialer: authenticated; streams may open.</summary>
    Ready = 4,
    /// <summary>Open a stream: metadata (client address, token claims, session key).</summary>
    Open = 5,
    /// <summary>The acceptor took the stream.</summary>
    Accept = 6,
    /// <summary>The stream is refused or reset; it ends at once.</summary>
    Refuse = 7,
    /// <summary>Numbered stream data: text or binary, with an end-of-message flag.</summary>
    Data = 8,
    /// <summary>Acknowledges stream items up to a sequence number and grants credit.</summary>
    Ack = 9,
    /// <summary>Numbered, reliable end of a stream: close code and reason.</summary>
    Close = 10,
    /// <summary>Link liveness and round-trip time.</summary>
    Ping = 11,
    /// <summary>Answer to <see cref="Ping"/>, echoing its timestamp.</summary>
    Pong = 12,
    /// <summary>The sender is draining: open no new streams on this link.</summary>
    GoAway = 13,
    /// <summary>Re-attach a stream on this link after its previous link died.</summary>
    Attach = 14,
    /// <summary>Answer to <see cref="Attach"/>.</summary>
    Attached = 15,

    /// <summary>First optional kind; unknown kinds from here on are skipped.</summary>
    FirstOptional = 64,
    /// <summary>Relay → core: an opaque health report (payload defined by the gateway).</summary>
    HealthReport = 64,
    /// <summary>Core → relay: a named command with an argument (e.g. drain).</summary>
    Command = 65,
    /// <summary>
    /// Relay → core (issue 22): a copy of an <see cref="Open"/>, same fields, sent on a second link of the endpoint while
    /// the stream's link is far. Optional: a core that predates it skips it, as if it were lost.
    /// </summary>
    OpenCopy = 66,
    /// <summary>
    /// Core → relay: whether this core node takes new streams now (a flag and why). A node that cannot serve new sessions
    /// (cluster mode without its broker) says so, and the relay places new sessions on the next node of their ranking.
    /// Optional: a relay that predates it skips it and keeps placing them (they get 1013 and resume, as before).
    /// </summary>
    NewStreams = 67,
}
