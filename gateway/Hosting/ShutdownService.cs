using Microsoft.Extensions.Options;
using Relay.Contracts.Sessions;
using Relay.Gateway.Configuration;
using Relay.Gateway.Health;
using Relay.Gateway.Sessions;

namespace Relay.Gateway.Hosting;

/// <summary>
/// On SIGTERM: stop accepting (readiness 503, agent "drain"), then close sessions with 1001 in
/// jittered batches, all of them within <see cref="GatewayOptions.ShutdownTimeout"/>.
/// </summary>
internal sealed partial class ShutdownService(DrainController drain, SessionRegistry sessions, IOptions<GatewayOptions> options, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<ShutdownService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        // ApplicationStopping fires before Kestrel stops: close websockets first, so Kestrel's own wait is short.
        lifetime.ApplicationStopping.Register(() =>
        {
            var deadline = options.Value.ShutdownTimeout;
            Log.ShuttingDown(logger, sessions.Count);
            drain.Undrain();
            drain.Start(force: true, "SIGTERM", CloseCodes.GoingAway, deadline * 0.8);
            drain.Moving.WaitAsync(deadline, time).ContinueWith(static _ => { }, TaskScheduler.Default).GetAwaiter().GetResult();
            // Whatever the drain did not move: closed with 1001, each given CloseTimeout for its close handshake.
            sessions.CloseAllAsync(CloseCodes.GoingAway, "gateway shutting down", options.Value.CloseTimeout, time).GetAwaiter().GetResult();
        });
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
