namespace Relay.Tunnel.Protocol;

/// <summary>Contents of a <see cref="FrameKind.Hello"/> or <see cref="FrameKind.Challenge"/> frame.</summary>
/// <param name="Version">Protocol version of the sender.</param>
/// <param name="PeerId">Hello: the relay id. Challenge: the core node id.</param>
/// <param name="Region">Hello: the relay's region. Challenge: empty.</param>
/// <param name="Nonce">32 random bytes for the HMAC challenge.</param>
/// <param name="Window">The sender's per-stream receive window in bytes (initial credit).</param>
/// <remarks>Since protocol v2 the CHALLENGE carries no proof: the core proves its key only in READY, after the relay's PROOF checked out.</remarks>
internal sealed record HelloInfo(int Version, string PeerId, string Region, byte[] Nonce, int Window);
