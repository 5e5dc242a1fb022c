namespace Relay.Gateway.Health;

/// <summary>
/// A source of health for the relay (backhaul, sessions, process, WireGuard tunnel). Register
/// implementations as singletons of <see cref="IHealthSignal"/>; the health monitor reads each one
/// about once a second and folds them, with hysteresis, into the relay's state.
/// </summary>
public interface IHealthSignal
{
    /// <summary>Short name, used as the key in /status (e.g. "backhaul", "tunnel").</summary>
    string Name { get; }

    /// <summary>Reads the signal now. Must be cheap and must not throw.</summary>
    HealthReading Read();
}
