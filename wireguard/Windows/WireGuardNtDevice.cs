using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;

namespace Relay.WireGuard.Windows;

/// <summary>
/// Windows: a WireGuardNT adapter through wireguard.dll. Managed: WireGuardCreateAdapter, set the
/// configuration, assign addresses with netsh, set the adapter up; dispose closes (and so removes) it.
/// External: WireGuardOpenAdapter on an adapter the WireGuard service runs; only read.
/// Compiled everywhere, run nowhere in CI (no Windows runner): see wireguard/README.md.
/// </summary>
[SupportedOSPlatform("windows")]
public sealed class WireGuardNtDevice(string name, bool managed) : ITunnelDevice
{
    private IntPtr _adapter;

    /// <inheritdoc/>
    public string Name => name;

    /// <inheritdoc/>
    public string Kind => "wireguard-nt";

    /// <inheritdoc/>
    public bool Managed => managed;

    /// <inheritdoc/>
    public Task UpAsync(CancellationToken cancellationToken = default)
    {
        if (_adapter != IntPtr.Zero)
        {
            return Task.CompletedTask;
        }

        _adapter = managed ? CreateAdapter(name) : WireGuardNtNative.WireGuardOpenAdapter(name);
        return _adapter != IntPtr.Zero
            ? Task.CompletedTask
            : Task.FromException(new IOException($"WireGuardNT: {(managed ? "create" : "open")} adapter {name} failed", new Win32Exception(Marshal.GetLastPInvokeError())));
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(WireGuardConfig config, CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        var resolved = await LinuxLink.ResolveEndpointsAsync(config, cancellationToken).ConfigureAwait(false);
        if (!SetConfiguration(_adapter, WireGuardNtMarshal.Build(resolved)))
        {
            throw new IOException($"WireGuardNT: set configuration on {name} failed", new Win32Exception(Marshal.GetLastPInvokeError()));
        }

        if (managed)
        {
            foreach (var address in config.Interface.Addresses)
            {
                string family = address.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? "ipv4" : "ipv6";
                await ProcessRunner.RunCheckedAsync("netsh", ["interface", family, "add", "address", $"name={name}", $"address={address}"], cancellationToken).ConfigureAwait(false);
            }

            if (!WireGuardNtNative.WireGuardSetAdapterState(_adapter, WireGuardAdapterState.Up))
            {
                throw new IOException($"WireGuardNT: set adapter {name} up failed", new Win32Exception(Marshal.GetLastPInvokeError()));
            }
        }
    }

    /// <inheritdoc/>
    public Task<DeviceState> ReadStateAsync(CancellationToken cancellationToken = default)
    {
        EnsureOpen();
        uint size = 4096;
        for (int attempt = 0; attempt < 8; attempt++)
        {
            var buffer = new byte[size];
            if (GetConfiguration(_adapter, buffer, ref size))
            {
                return Task.FromResult(WireGuardNtMarshal.Parse(name, buffer.AsSpan(0, (int)size)));
            }

            int error = Marshal.GetLastPInvokeError();
            if (error != WireGuardNtNative.ErrorMoreData)
            {
                return Task.FromException<DeviceState>(new IOException($"WireGuardNT: get configuration of {name} failed", new Win32Exception(error)));
            }
        }

        return Task.FromException<DeviceState>(new IOException($"WireGuardNT: configuration of {name} kept growing"));
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        if (_adapter != IntPtr.Zero)
        {
            if (managed)
            {
                WireGuardNtNative.WireGuardSetAdapterState(_adapter, WireGuardAdapterState.Down);
            }

            WireGuardNtNative.WireGuardCloseAdapter(_adapter);
            _adapter = IntPtr.Zero;
        }

        return ValueTask.CompletedTask;
    }

    private static unsafe IntPtr CreateAdapter(string name) => WireGuardNtNative.WireGuardCreateAdapter(name, "Relay", null);

    private static unsafe bool SetConfiguration(IntPtr adapter, byte[] buffer)
    {
        fixed (byte* p = buffer)
        {
            return WireGuardNtNative.WireGuardSetConfiguration(adapter, p, (uint)buffer.Length);
        }
    }

    private static unsafe bool GetConfiguration(IntPtr adapter, byte[] buffer, ref uint size)
    {
        fixed (byte* p = buffer)
        {
            return WireGuardNtNative.WireGuardGetConfiguration(adapter, p, ref size);
        }
    }

    private void EnsureOpen()
    {
        if (_adapter == IntPtr.Zero)
        {
            throw new InvalidOperationException("call UpAsync first");
        }
    }
}
