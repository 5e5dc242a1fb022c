namespace Relay.LoadGen;

/// <summary>A run so far, for the live display. <paramref name="Skipped"/>: messages a gap in a sender's numbers skipped (lost so far).</summary>
public sealed record LoadProgress(
    string Phase,
    double ElapsedSeconds,
    int Sessions,
    int Connected,
    int ConnectFailures,
    long Sent,
    long Received,
    int Reconnects,
    long Duplicated,
    long OutOfOrder,
    Percentiles LatencyMs,
    long Skipped = 0)
{
    /// <summary>Failed websocket upgrades so far (retries and reconnects included).</summary>
    public int FailedAttempts { get; init; }

    /// <summary>The most frequent reason of <see cref="FailedAttempts"/>, or null.</summary>
    public string? TopFailedAttempt { get; init; }
}
