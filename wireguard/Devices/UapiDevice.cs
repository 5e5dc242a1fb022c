using Relay.WireGuard.Config;
using Relay.WireGuard.Uapi;

namespace Relay.WireGuard.Devices;

/// <summary>
/// A userspace device that someone else runs (wg-quick with wireguard-go, boringtun, systemd): Relay
/// reads it over the UAPI socket and may set its peers, and never creates or removes it.
/// </summary>
public sealed class UapiDevice(string name, string socketDirectory = UapiClient.DefaultSocketDirectory) : ITunnelDevice
{
    private readonly UapiClient _uapi = new(name, socketDirectory);

    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public string Kind => "uapi";

    /// <inheritdoc/>
    public bool Managed => false;

    /// <inheritdoc/>
    public Task UpAsync(CancellationToken cancellationToken = default) =>
        _uapi.Exists ? Task.CompletedTask : Task.FromException(new IOException($"no WireGuard UAPI socket {_uapi.SocketPath}: is the tunnel {name} up?"));

    /// <inheritdoc/>
    public async Task ApplyAsync(WireGuardConfig config, CancellationToken cancellationToken = default) =>
        await _uapi.SetAsync(await LinuxLink.ResolveEndpointsAsync(config, cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);

    /// <inheritdoc/>
    public async Task<DeviceState> ReadStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _uapi.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException($"WireGuard {name} does not answer on {_uapi.SocketPath}: {e.SocketErrorCode}", e);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
