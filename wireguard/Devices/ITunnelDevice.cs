using Relay.WireGuard.Config;

namespace Relay.WireGuard.Devices;

/// <summary>
/// One WireGuard device, whatever drives it: wireguard-go or boringtun over the UAPI socket, the Linux
/// kernel module through `wg`, or WireGuardNT on Windows. Disposing tears down what this object created
/// (a managed device) and nothing else (an external one).
/// </summary>
public interface ITunnelDevice : IAsyncDisposable
{
    /// <summary>Interface name (e.g. wg0).</summary>
    string Name { get; }

    /// <summary>Which backend: "wireguard-go", "uapi", "kernel" or "wireguard-nt".</summary>
    string Kind { get; }

    /// <summary>True when this object created the device and removes it on dispose.</summary>
    bool Managed { get; }

    /// <summary>Creates the device (managed) or checks that it exists (external).</summary>
    Task UpAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Makes the device match <paramref name="config"/>: keys, port, peers. A managed device also gets
    /// the configuration's addresses and MTU and is brought up.
    /// </summary>
    Task ApplyAsync(WireGuardConfig config, CancellationToken cancellationToken = default);

    /// <summary>Reads the device's state and counters. Throws <see cref="IOException"/> when the device does not answer.</summary>
    Task<DeviceState> ReadStateAsync(CancellationToken cancellationToken = default);
}
