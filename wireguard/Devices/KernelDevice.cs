using System.Globalization;
using Relay.WireGuard.Config;
using Relay.WireGuard.Keys;

namespace Relay.WireGuard.Devices;

/// <summary>
/// The Linux kernel module, driven through `wg` (setconf, show dump) and `ip`. Managed: creates the link
/// (`ip link add … type wireguard`) and deletes it on dispose. External: reads (and may set) an existing one.
/// </summary>
public sealed class KernelDevice(string name, bool managed, string wgPath = "wg", string ipPath = "ip") : ITunnelDevice
{
    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public string Kind => "kernel";

    /// <inheritdoc/>
    public bool Managed => managed;

    /// <inheritdoc/>
    public async Task UpAsync(CancellationToken cancellationToken = default)
    {
        if (await LinuxLink.ExistsAsync(ipPath, name, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        if (!managed)
        {
            throw new IOException($"WireGuard interface {name} does not exist");
        }

        await ProcessRunner.RunCheckedAsync(ipPath, ["link", "add", "dev", name, "type", "wireguard"], cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(WireGuardConfig config, CancellationToken cancellationToken = default)
    {
        // `wg setconf` reads a file: the keys go in an owner-only file in a folder of this process's own (0700, a random
        // name), removed at once. A predictable name in the shared temporary folder let any local user who made it first
        // stop the tunnel from coming up (security review, 2026-12-05).
        var folder = Directory.CreateTempSubdirectory("relay-wg-");
        try
        {
            string file = Path.Combine(folder.FullName, name + ".conf");
            WireGuardKeyFile.WriteSecret(file, SetConf(config));
            await ProcessRunner.RunCheckedAsync(wgPath, ["setconf", name, file], cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            folder.Delete(recursive: true);
        }

        if (managed)
        {
            await LinuxLink.ConfigureAsync(ipPath, name, config.Interface, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<DeviceState> ReadStateAsync(CancellationToken cancellationToken = default) =>
        ParseDump(name, await ProcessRunner.RunCheckedAsync(wgPath, ["show", name, "dump"], cancellationToken).ConfigureAwait(false));

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (managed)
        {
            await LinuxLink.DeleteAsync(ipPath, name).ConfigureAwait(false);
        }
    }

    /// <summary>The `wg setconf` format: a .conf without wg-quick's Address and MTU.</summary>
    internal static string SetConf(WireGuardConfig config) =>
        WgQuickConfig.Write(config with { Interface = config.Interface with { Addresses = [], Mtu = null } });

    /// <summary>
    /// Parses `wg show IFACE dump`: a tab-separated line for the interface (private key, public key, port,
    /// fwmark), then one per peer (public key, preshared key, endpoint, allowed ips, latest handshake,
    /// rx, tx, keepalive). "(none)" and "off" mean absent.
    /// </summary>
    internal static DeviceState ParseDump(string name, string dump)
    {
        string[] lines = dump.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0)
        {
            throw new FormatException("wg show dump: empty");
        }

        string[] head = lines[0].Split('\t');
        if (head.Length < 4)
        {
            throw new FormatException("wg show dump: the interface line has fewer than 4 fields");
        }

        WireGuardKey.TryParseBase64(head[1], out var devicePublic);
        var peers = new List<PeerState>();
        foreach (string line in lines.Skip(1))
        {
            string[] f = line.Split('\t');
            if (f.Length < 8 || !WireGuardKey.TryParseBase64(f[0], out var key))
            {
                throw new FormatException("wg show dump: a peer line is malformed");
            }

            long handshake = long.Parse(f[4], CultureInfo.InvariantCulture);
            peers.Add(new PeerState(
                key!,
                f[2] == "(none)" ? null : f[2],
                handshake == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(handshake),
                long.Parse(f[5], CultureInfo.InvariantCulture),
                long.Parse(f[6], CultureInfo.InvariantCulture),
                f[7] == "off" ? 0 : int.Parse(f[7], CultureInfo.InvariantCulture),
                f[3] == "(none)" ? [] : f[3].Split(',')));
        }

        return new DeviceState(name, devicePublic, int.Parse(head[2], CultureInfo.InvariantCulture), peers);
    }
}
