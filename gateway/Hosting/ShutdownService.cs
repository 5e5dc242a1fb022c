using Microsoft.Extensions.Options;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Hosting;

/// <summary>On SIGTERM: stop accepting (readiness 503), close every session with 1001, within the deadline.</summary>
internal sealed partial class ShutdownService(SessionRegistry sessions, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime, ILogger<ShutdownService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // ApplicationStopping fires before Kestrel stops: close websockets first, so Kestrel's own wait is short.
        lifetime.ApplicationStopping.Register(() =>
        {
            sessions.Draining = true;
            Log.ShuttingDown(logger, sessions.Count);
            sessions.CloseAllAsync(1001, "gateway shutting down", options.Value.ShutdownTimeout).GetAwaiter().GetResult();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(1200, LogLevel.Information, "Shutting down: closing {Count} sessions with 1001")]
        public static partial void ShuttingDown(ILogger logger, int count);
    }
}
