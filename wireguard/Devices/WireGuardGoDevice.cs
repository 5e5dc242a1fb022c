using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Relay.WireGuard.Config;
using Relay.WireGuard.Uapi;

namespace Relay.WireGuard.Devices;

/// <summary>
/// A managed userspace device: starts `wireguard-go -f &lt;iface&gt;` as a child process, configures it
/// over its UAPI socket, assigns the addresses with `ip` and brings the link up. Dispose stops the
/// child (by its own process handle) and removes the interface.
/// </summary>
public sealed partial class WireGuardGoDevice : ITunnelDevice
{
    private readonly string _wireguardGo;
    private readonly string _ip;
    private readonly ILogger _logger;
    private readonly UapiClient _uapi;
    private Process? _process;

    /// <summary>Creates the device object; <see cref="UpAsync"/> starts wireguard-go.</summary>
    public WireGuardGoDevice(string name, string wireguardGoPath = "wireguard-go", string ipPath = "ip", string socketDirectory = UapiClient.DefaultSocketDirectory, ILogger? logger = null)
    {
        Name = name;
        _wireguardGo = wireguardGoPath;
        _ip = ipPath;
        _logger = logger ?? NullLogger.Instance;
        _uapi = new UapiClient(name, socketDirectory);
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public string Kind => "wireguard-go";

    /// <inheritdoc/>
    public bool Managed => true;

    /// <summary>The child's process id, or null when not running.</summary>
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;

    /// <summary>True when the child process has exited (crashed or was killed).</summary>
    public bool Exited => _process is { HasExited: true };

    /// <inheritdoc/>
    public async Task UpAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        _process?.Dispose();
        if (_uapi.Exists)
        {
            // A stale socket from a crashed run: wireguard-go refuses to start over a live one, removes a dead one.
            await LinuxLink.DeleteAsync(_ip, Name).ConfigureAwait(false);
        }

        var start = new ProcessStartInfo(_wireguardGo) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-f");
        start.ArgumentList.Add(Name);
        start.Environment["WG_PROCESS_FOREGROUND"] = "1";
        start.Environment["LOG_LEVEL"] = "error";
        _process = Process.Start(start) ?? throw new IOException($"could not start {_wireguardGo}");
        _process.OutputDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) Log.ChildOutput(_logger, Name, line); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 } line) Log.ChildOutput(_logger, Name, line); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        Log.Started(_logger, Name, _process.Id);

        // Wait (bounded) for the UAPI socket to answer.
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new IOException($"wireguard-go for {Name} exited with code {_process.ExitCode} at start (needs root and /dev/net/tun)");
            }

            if (_uapi.Exists)
            {
                try
                {
                    await _uapi.GetAsync(cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
                {
                    // not listening yet
                }
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(10))
            {
                throw new IOException($"wireguard-go for {Name} did not open {_uapi.SocketPath} within 10 s");
            }

            await Task.Delay(50, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task ApplyAsync(WireGuardConfig config, CancellationToken cancellationToken = default)
    {
        var resolved = await LinuxLink.ResolveEndpointsAsync(config, cancellationToken).ConfigureAwait(false);
        await _uapi.SetAsync(resolved, cancellationToken).ConfigureAwait(false);
        await LinuxLink.ConfigureAsync(_ip, Name, config.Interface, cancellationToken).ConfigureAwait(false);
        Log.Configured(_logger, Name, config.Peers.Count);
    }

    /// <inheritdoc/>
    public async Task<DeviceState> ReadStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await _uapi.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Net.Sockets.SocketException e)
        {
            throw new IOException($"wireguard-go for {Name} does not answer on {_uapi.SocketPath}: {e.SocketErrorCode}", e);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // reported below by the link delete
                }
            }

            Log.Stopped(_logger, Name);
            _process.Dispose();
            _process = null;

            // wireguard-go removes its UAPI socket only on a graceful exit; after a kill it stays behind.
            try
            {
                File.Delete(_uapi.SocketPath);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        await LinuxLink.DeleteAsync(_ip, Name).ConfigureAwait(false);
    }
}
