namespace Relay.WireGuard;

/// <summary>How Relay treats the WireGuard tunnel.</summary>
public enum WireGuardMode
{
    /// <summary>No tunnel: the backhaul runs over whatever network there is (development).</summary>
    None,
    /// <summary>Relay creates the device from <see cref="WireGuardOptions.ConfigPath"/>, assigns its address, brings it up and removes it on exit.</summary>
    Managed,
    /// <summary>The operator runs the tunnel (wg-quick, systemd-networkd, the WireGuard service); Relay only watches it.</summary>
    External,
}

/// <summary>Which WireGuard implementation drives the device.</summary>
public enum WireGuardBackend
{
    /// <summary>Windows: WireGuardNT. Elsewhere: managed → wireguard-go; external → the UAPI socket if there is one, else the kernel through `wg`.</summary>
    Auto,
    /// <summary>wireguard-go (managed) or any UAPI device such as boringtun (external), over /var/run/wireguard/IFACE.sock.</summary>
    Userspace,
    /// <summary>The Linux kernel module through `wg` and `ip`.</summary>
    Kernel,
    /// <summary>WireGuardNT (wireguard.dll) on Windows.</summary>
    WireGuardNT,
}

/// <summary>
/// Tunnel settings, shared by the gateway ("Gateway:WireGuard") and core-sim ("CoreSim:WireGuard").
/// </summary>
public sealed class WireGuardOptions
{
    /// <summary>none, managed or external. Defaults to none.</summary>
    public WireGuardMode Mode { get; set; } = WireGuardMode.None;

    /// <summary>Which implementation. Defaults to auto.</summary>
    public WireGuardBackend Backend { get; set; } = WireGuardBackend.Auto;

    /// <summary>Interface name (at most 15 characters on Linux). Defaults to "wg-relay".</summary>
    public string Interface { get; set; } = "wg-relay";

    /// <summary>wg-quick .conf file (mode 0600). Required in managed mode; unused in external mode.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>The wireguard-go executable. Defaults to "wireguard-go" (on PATH).</summary>
    public string WireGuardGoPath { get; set; } = "wireguard-go";

    /// <summary>The `wg` executable. Defaults to "wg".</summary>
    public string WgPath { get; set; } = "wg";

    /// <summary>The `ip` executable. Defaults to "ip".</summary>
    public string IpPath { get; set; } = "ip";

    /// <summary>Directory of UAPI sockets. Defaults to /var/run/wireguard.</summary>
    public string SocketDirectory { get; set; } = Uapi.UapiClient.DefaultSocketDirectory;

    /// <summary>A handshake older than this makes the tunnel unhealthy (WireGuard re-handshakes every 2 minutes while in use). Defaults to 3 minutes.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Nothing received for this long, while the backhaul links are failing or while we keep sending, makes the tunnel unhealthy. Defaults to 30 s.</summary>
    public TimeSpan NoTrafficTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the device is read. Defaults to 2 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Returns the first bad setting as one line naming it (under <paramref name="section"/>), or null.</summary>
    public string? Validate(string section) => Problems(section).FirstOrDefault();

    /// <summary>Every bad setting, one line each naming it (under <paramref name="section"/>); none in mode none.</summary>
    public IEnumerable<string> Problems(string section)
    {
        if (Mode == WireGuardMode.None)
        {
            yield break;
        }

        if (string.IsNullOrWhiteSpace(Interface) || Interface.Length > 15 || Interface.Any(c => c is '/' or ' ' or ':' || char.IsControl(c)))
        {
            yield return $"{section}:Interface must be 1-15 characters without '/', ':' or spaces; was '{Interface}'.";
        }

        if (Mode == WireGuardMode.Managed)
        {
            if (string.IsNullOrWhiteSpace(ConfigPath))
            {
                yield return $"{section}:ConfigPath is required in managed mode: a wg-quick .conf file with [Interface] and [Peer].";
            }
            else if (!File.Exists(ConfigPath))
            {
                yield return $"{section}:ConfigPath '{ConfigPath}' does not exist.";
            }
        }

        if (Backend == WireGuardBackend.WireGuardNT && !OperatingSystem.IsWindows())
        {
            yield return $"{section}:Backend WireGuardNT runs only on Windows.";
        }

        if (HandshakeTimeout < TimeSpan.FromSeconds(10))
        {
            yield return $"{section}:HandshakeTimeout must be at least 10 s; was {HandshakeTimeout}.";
        }

        if (NoTrafficTimeout < TimeSpan.FromSeconds(1))
        {
            yield return $"{section}:NoTrafficTimeout must be at least 1 s; was {NoTrafficTimeout}.";
        }

        if (PollInterval < TimeSpan.FromMilliseconds(100) || PollInterval > NoTrafficTimeout)
        {
            yield return $"{section}:PollInterval must be 100 ms to NoTrafficTimeout; was {PollInterval}.";
        }
    }
}
