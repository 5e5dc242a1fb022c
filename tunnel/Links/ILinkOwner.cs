namespace Relay.Tunnel.Links;

/// <summary>The pool (dialing side) or the listener (accepting side) that owns a link's streams.</summary>
internal interface ILinkOwner
{
    /// <summary>The owner's backhaul metrics, shared by its links and streams.</summary>
    TunnelMetrics Metrics { get; }

    /// <summary>Handles a stream frame read from <paramref name="link"/>. False closes the link as a protocol error.</summary>
    bool OnStreamFrame(Link link, in Frame frame);

    /// <summary>Handles a health report or command frame.</summary>
    void OnControlFrame(Link link, in Frame frame);

    /// <summary>Called once, after both loops of the link have ended.</summary>
    void OnLinkClosed(Link link, LinkCloseReason reason);
}
