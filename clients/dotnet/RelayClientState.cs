namespace Relay.Client;

/// <summary>Where a <see cref="RelayClient"/> is.</summary>
public enum RelayClientState
{
    /// <summary>Not started.</summary>
    Idle,
    /// <summary>Opening a connection and waiting for the welcome.</summary>
    Connecting,
    /// <summary>Welcomed; messages flow.</summary>
    Connected,
    /// <summary>The connection ended; waiting (backoff) or reconnecting to resume.</summary>
    Reconnecting,
    /// <summary>Closed for good (normal close, disposal, or out of reconnect attempts).</summary>
    Closed,
}
