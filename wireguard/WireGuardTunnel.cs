using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.WireGuard.Config;
using Relay.WireGuard.Devices;
using Relay.WireGuard.Health;
using Relay.WireGuard.Windows;

namespace Relay.WireGuard;

/// <summary>
/// The tunnel under a host: in managed mode brings the device up from the .conf file and tears it down on
/// dispose (restarting a managed wireguard-go that died); in external mode only watches. Reads the device
/// every <see cref="WireGuardOptions.PollInterval"/> and keeps the latest <see cref="TunnelStatus"/>.
/// </summary>
public sealed partial class WireGuardTunnel : IAsyncDisposable
{
    private readonly WireGuardOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Func<bool> _linksFailing;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TunnelHealthTracker _tracker;
    private WireGuardConfig? _config;
    private Task? _poller;
    private volatile TunnelStatus _status;

    /// <summary>Creates the tunnel; <see cref="StartAsync"/> brings it up. <paramref name="linksFailing"/> tells whether the backhaul links are failing (gateway).</summary>
    public WireGuardTunnel(WireGuardOptions options, ILogger<WireGuardTunnel>? logger = null, TimeProvider? time = null, Func<bool>? linksFailing = null, ITunnelDevice? device = null)
    {
        string? error = options.Validate("WireGuard");
        if (error is not null || options.Mode == WireGuardMode.None)
        {
            throw new ArgumentException(error ?? "WireGuard mode is none: there is no tunnel to run", nameof(options));
        }

        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _linksFailing = linksFailing ?? (() => false);
        Device = device ?? CreateDevice(options);
        string mode = options.Mode == WireGuardMode.Managed ? "managed" : "external";
        _tracker = new TunnelHealthTracker(options, mode, _time.GetUtcNow());
        _status = new TunnelStatus(TunnelHealth.Waiting, $"tunnel {options.Interface}: starting", options.Interface, mode, Device.Kind, null, null, 0, 0, _time.GetUtcNow());
    }

    /// <summary>The device.</summary>
    public ITunnelDevice Device { get; }

    /// <summary>The latest reading.</summary>
    public TunnelStatus Status => _status;

    /// <summary>Creates the device object for the options (does not start anything).</summary>
    public static ITunnelDevice CreateDevice(WireGuardOptions options)
    {
        bool managed = options.Mode == WireGuardMode.Managed;
        var backend = options.Backend;
        if (backend == WireGuardBackend.Auto)
        {
            backend = OperatingSystem.IsWindows() ? WireGuardBackend.WireGuardNT
                : managed || File.Exists(Path.Combine(options.SocketDirectory, options.Interface + ".sock")) ? WireGuardBackend.Userspace
                : WireGuardBackend.Kernel;
        }

        if (backend == WireGuardBackend.WireGuardNT)
        {
            return OperatingSystem.IsWindows() ? new WireGuardNtDevice(options.Interface, managed) : throw new PlatformNotSupportedException("WireGuardNT runs only on Windows");
        }

        return backend switch
        {
            WireGuardBackend.Kernel => new KernelDevice(options.Interface, managed, options.WgPath, options.IpPath),
            _ when managed => new WireGuardGoDevice(options.Interface, options.WireGuardGoPath, options.IpPath, options.SocketDirectory),
            _ => new UapiDevice(options.Interface, options.SocketDirectory),
        };
    }

    /// <summary>
    /// Managed: loads the .conf (throws <see cref="ConfigException"/>), creates and configures the device
    /// (throws <see cref="IOException"/>). External: never throws; a missing device shows as unhealthy.
    /// Then starts polling.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_options.Mode == WireGuardMode.Managed)
        {
            _config = WgQuickConfig.Load(_options.ConfigPath!);
            await Device.UpAsync(cancellationToken).ConfigureAwait(false);
            await Device.ApplyAsync(_config, cancellationToken).ConfigureAwait(false);
            Log.Up(_logger, _options.Interface, Device.Kind, string.Join(", ", _config.Interface.Addresses));
        }

        await PollOnceAsync(cancellationToken).ConfigureAwait(false);
        _poller = Task.Run(PollLoopAsync, CancellationToken.None);
    }

    /// <summary>Reads the device once and updates <see cref="Status"/>.</summary>
    public async Task<TunnelStatus> PollOnceAsync(CancellationToken cancellationToken = default)
    {
        DeviceState? state = null;
        string? error = null;
        try
        {
            if (_options.Mode == WireGuardMode.External)
            {
                await Device.UpAsync(cancellationToken).ConfigureAwait(false); // appears when the operator brings it up
            }

            state = await Device.ReadStateAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidOperationException or System.Net.Sockets.SocketException or System.ComponentModel.Win32Exception)
        {
            error = e.Message;
        }

        var previous = _status;
        var status = _tracker.Observe(state, error, Device.Kind, _time.GetUtcNow(), _linksFailing());
        _status = status;
        if ((status.Health == TunnelHealth.Unhealthy) != (previous.Health == TunnelHealth.Unhealthy))
        {
            if (status.Health == TunnelHealth.Unhealthy)
            {
                Log.Unhealthy(_logger, status.Reason ?? string.Empty);
            }
            else
            {
                Log.Recovered(_logger, _options.Interface);
            }
        }

        if (state is null && _config is not null && Device is WireGuardGoDevice { Exited: true })
        {
            await RestartAsync(cancellationToken).ConfigureAwait(false);
        }

        return status;
    }

    private async Task RestartAsync(CancellationToken cancellationToken)
    {
        Log.Restarting(_logger, _options.Interface);
        try
        {
            await Device.UpAsync(cancellationToken).ConfigureAwait(false);
            await Device.ApplyAsync(_config!, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            Log.RestartFailed(_logger, _options.Interface, e.Message);
        }
    }

    private async Task PollLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.PollInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                await PollOnceAsync(_stopping.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // stopping
        }
        catch (Exception e)
        {
            Log.PollCrashed(_logger, e);
        }
    }

    /// <summary>Stops polling; a managed device is torn down.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_poller is not null)
        {
            await _poller.ConfigureAwait(false);
        }

        await Device.DisposeAsync().ConfigureAwait(false);
        if (Device.Managed)
        {
            Log.Down(_logger, _options.Interface);
        }

        _stopping.Dispose();
    }
}
