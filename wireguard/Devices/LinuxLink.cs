using System.Globalization;
using System.Net;
using Relay.WireGuard.Config;

namespace Relay.WireGuard.Devices;

/// <summary>The `ip` steps shared by Linux backends: addresses, MTU, link up, delete; and endpoint resolution.</summary>
internal static class LinuxLink
{
    public static async Task ConfigureAsync(string ip, string name, InterfaceConfig config, CancellationToken cancellationToken)
    {
        foreach (var address in config.Addresses)
        {
            await ProcessRunner.RunCheckedAsync(ip, ["address", "replace", address.ToString(), "dev", name], cancellationToken).ConfigureAwait(false);
        }

        string mtu = (config.Mtu ?? 1420).ToString(CultureInfo.InvariantCulture);
        await ProcessRunner.RunCheckedAsync(ip, ["link", "set", "dev", name, "mtu", mtu, "up"], cancellationToken).ConfigureAwait(false);
    }

    public static async Task<bool> ExistsAsync(string ip, string name, CancellationToken cancellationToken)
    {
        var (code, _, _) = await ProcessRunner.RunAsync(ip, ["link", "show", "dev", name], cancellationToken).ConfigureAwait(false);
        return code == 0;
    }

    public static async Task DeleteAsync(string ip, string name)
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ProcessRunner.RunAsync(ip, ["link", "del", "dev", name], limit.Token).ConfigureAwait(false);
    }

    /// <summary>Returns the configuration with every peer endpoint as an IP literal (UAPI and WireGuardNT need one).</summary>
    public static async Task<WireGuardConfig> ResolveEndpointsAsync(WireGuardConfig config, CancellationToken cancellationToken)
    {
        var peers = new List<PeerConfig>(config.Peers.Count);
        foreach (var peer in config.Peers)
        {
            if (peer.Endpoint is null || !WgQuickConfig.TryParseEndpoint(peer.Endpoint, out string host, out int port) || IPAddress.TryParse(host, out _))
            {
                peers.Add(peer);
                continue;
            }

            var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            var address = addresses.FirstOrDefault() ?? throw new IOException($"WireGuard peer endpoint host '{host}' has no address");
            peers.Add(peer with { Endpoint = new IPEndPoint(address, port).ToString() });
        }

        return config with { Peers = peers };
    }
}
