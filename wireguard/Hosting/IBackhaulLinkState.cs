namespace Relay.WireGuard.Hosting;

/// <summary>
/// What the host knows about the backhaul links that run through the tunnel. Register one (the gateway does) and
/// a silent peer is blamed while the links fail; without one the tunnel judges by its own traffic only.
/// </summary>
public interface IBackhaulLinkState
{
    /// <summary>True while fewer links are up than configured: the tunnel must then show traffic or be blamed.</summary>
    bool LinksFailing { get; }
}
