namespace Relay.Tunnel.Streams;

/// <summary>How a stream ended: a websocket-style close code and a reason.</summary>
/// <param name="Code">Close code (1000 normal; see <see cref="StreamCodes"/>).</param>
/// <param name="Reason">Human-readable reason.</param>
/// <param name="ByPeer">True when the peer closed or refused it.</param>
public sealed record StreamCloseInfo(int Code, string Reason, bool ByPeer);
