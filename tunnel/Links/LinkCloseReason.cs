namespace Relay.Tunnel.Links;

/// <summary>Why a link ended. The first reason recorded wins.</summary>
internal enum LinkCloseReason
{
    /// <summary>Still open.</summary>
    None,
    /// <summary>Closed on purpose by this side (dispose, drain).</summary>
    LocalClose,
    /// <summary>The peer closed the connection (EOF) or reset it.</summary>
    PeerClosed,
    /// <summary>The socket failed.</summary>
    SocketError,
    /// <summary>No frame arrived within the dead-link timeout.</summary>
    Timeout,
    /// <summary>The peer sent a malformed, truncated, oversized or out-of-order frame.</summary>
    ProtocolError,
    /// <summary>The shared-key challenge failed.</summary>
    AuthenticationFailed,
    /// <summary>Closed by a test or a fault injection.</summary>
    Aborted,
}
