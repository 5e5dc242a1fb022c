using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Health;

/// <summary>
/// HAProxy agent-check on TCP (default 8081): each connection gets one line — "up N%" with a
/// weight that falls as load rises, "drain", or "down#reason" — and is closed.
/// </summary>
internal sealed partial class AgentCheckServer(HealthMonitor monitor, IOptions<GatewayOptions> options, TimeProvider time, ILogger<AgentCheckServer> logger) : BackgroundService
{
    private TcpListener? _listener;
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The bound port (useful when 0 was configured).</summary>
    public Task<int> Port => _port.Task;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        int port = options.Value.Health.AgentPort;
        if (port < 0)
        {
            _port.TrySetResult(-1);
            return Task.CompletedTask;
        }

        _listener = new TcpListener(IPAddress.Parse(options.Value.BindAddress), port);
        _listener.Start(128);
        _port.TrySetResult(((IPEndPoint)_listener.LocalEndpoint).Port);
        Log.Listening(logger, ((IPEndPoint)_listener.LocalEndpoint).Port);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listener?.Stop();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is null)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (stoppingToken.IsCancellationRequested)
                {
                    return;
                }

                // Out of files or buffers: the listener stays readable, so retrying at once would spin a core.
                await Task.Delay(TimeSpan.FromMilliseconds(100), time, stoppingToken).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
                continue;
            }

            using (socket)
            {
                try
                {
                    socket.NoDelay = true;
                    await socket.SendAsync(Encoding.ASCII.GetBytes(monitor.Current.AgentLine + "\n"), SocketFlags.None, stoppingToken).ConfigureAwait(false);
                    socket.Shutdown(SocketShutdown.Both);
                }
                catch (SocketException)
                {
                }
            }
        }
    }
}
