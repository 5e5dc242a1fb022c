using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Tokens;

/// <summary>
/// Rotates the token signing key every <see cref="CoreSimOptions.KeyRotationInterval"/> (off when zero), on the
/// <see cref="TimeProvider"/>: the development hook for key rotation. The previous key stays in the JWKS for
/// <see cref="CoreSimOptions.KeyOverlap"/>, so relays that refresh it verify tokens of both.
/// </summary>
internal sealed partial class KeyRotationService(TokenIssuer issuer, IOptions<CoreSimOptions> options, TimeProvider time, ILogger<KeyRotationService> logger) : IHostedService, IDisposable
{
    private ITimer? _timer;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var interval = options.Value.KeyRotationInterval;
        if (interval > TimeSpan.Zero)
        {
            _timer = time.CreateTimer(_ => Log.Rotated(logger, issuer.Rotate(), issuer.KeyOverlap), null, interval, interval);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _timer?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => _timer?.Dispose();
}
