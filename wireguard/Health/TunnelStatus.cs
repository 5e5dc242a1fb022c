namespace Relay.WireGuard.Health;

/// <summary>The tunnel's verdict. Ordered: larger is worse.</summary>
public enum TunnelHealth
{
    /// <summary>Handshakes are fresh and traffic flows.</summary>
    Healthy = 0,
    /// <summary>Starting: no handshake yet, within the handshake timeout.</summary>
    Waiting = 1,
    /// <summary>Stale handshake, silent peer, or a device that does not answer.</summary>
    Unhealthy = 2,
}

/// <summary>One reading of the tunnel, for health signals and /status.</summary>
/// <param name="Health">The verdict.</param>
/// <param name="Reason">Why, when not healthy; starts with "tunnel IFACE:".</param>
/// <param name="Interface">Interface name.</param>
/// <param name="Mode">managed or external.</param>
/// <param name="Backend">wireguard-go, uapi, kernel or wireguard-nt.</param>
/// <param name="Endpoint">The (first) peer's endpoint.</param>
/// <param name="LastHandshakeAge">Age of the most recent handshake of the worst peer, or null when none yet.</param>
/// <param name="RxBytes">Bytes received from all peers.</param>
/// <param name="TxBytes">Bytes sent to all peers.</param>
/// <param name="ReadAt">When the device was read.</param>
public sealed record TunnelStatus(TunnelHealth Health, string? Reason, string Interface, string Mode, string Backend, string? Endpoint, TimeSpan? LastHandshakeAge, long RxBytes, long TxBytes, DateTimeOffset ReadAt)
{
    /// <summary>The values for /status and health reports (no keys).</summary>
    public IReadOnlyDictionary<string, object?> Values() => new Dictionary<string, object?>
    {
        ["interface"] = Interface,
        ["mode"] = Mode,
        ["backend"] = Backend,
        ["endpoint"] = Endpoint,
        ["lastHandshakeAgeSeconds"] = LastHandshakeAge is { } age ? Math.Round(age.TotalSeconds, 1) : null,
        ["rxBytes"] = RxBytes,
        ["txBytes"] = TxBytes,
    };
}
