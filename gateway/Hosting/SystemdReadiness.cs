using Microsoft.Extensions.Hosting.Systemd;
using Relay.Gateway.Health;

namespace Relay.Gateway.Hosting;

/// <summary>
/// sd_notify for the gateway (issue 19). <see cref="SystemdLifetime"/> says READY=1 when the host has started, but a
/// relay is ready only once <c>/readyz</c> answers 200 (its backhaul and tunnel up): this notifier, the lifetime's,
/// holds READY=1 back until both the host has started and <see cref="HealthMonitor.FirstReady"/> has completed, then
/// sends it once with <c>STATUS=ready</c>. STOPPING=1 goes at SIGTERM, before the drain (this service registers for
/// ApplicationStopping after <see cref="ShutdownService"/>, so its callback runs first), and only once.
/// </summary>
internal sealed partial class SystemdReadiness(SystemdNotifier notifier, HealthMonitor monitor, IHostApplicationLifetime lifetime, ILogger<SystemdReadiness> logger) : ISystemdNotifier, IHostedService
{
    private static readonly ServiceState s_ready = new("READY=1\nSTATUS=ready");
    private static readonly string s_readyText = ServiceState.Ready.ToString();
    private static readonly string s_stoppingText = ServiceState.Stopping.ToString();
    private readonly Lock _lock = new();
    private bool _started;
    private bool _healthy;
    private bool _readySent;
    private bool _stoppingSent;

    public bool IsEnabled => notifier.IsEnabled;

    public void Notify(ServiceState state)
    {
        string text = state.ToString();
        if (text == s_readyText)
        {
            // The lifetime's READY at ApplicationStarted: the host runs; ready only with the relay.
            lock (_lock)
            {
                _started = true;
            }

            MaybeReady();
        }
        else if (text == s_stoppingText)
        {
            Stopping();
        }
        else
        {
            Send(state);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStopping.Register(Stopping);
        monitor.FirstReady.ContinueWith(
            _ =>
            {
                lock (_lock)
                {
                    _healthy = true;
                }

                MaybeReady();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void MaybeReady()
    {
        lock (_lock)
        {
            if (_readySent || _stoppingSent || !_started || !_healthy)
            {
                return;
            }

            _readySent = true;
        }

        Send(s_ready);
        Log.Ready(logger);
    }

    private void Stopping()
    {
        lock (_lock)
        {
            if (_stoppingSent)
            {
                return;
            }

            _stoppingSent = true;
        }

        Send(ServiceState.Stopping);
    }

    private void Send(ServiceState state)
    {
        try
        {
            notifier.Notify(state);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            Log.NotifyFailed(logger, state.ToString().ReplaceLineEndings(" "), e.Message);
        }
    }
}
