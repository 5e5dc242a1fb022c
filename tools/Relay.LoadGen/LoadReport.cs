namespace Relay.LoadGen;

/// <summary>Percentiles in milliseconds.</summary>
public sealed record Percentiles(double P50, double P90, double P99, double P999, double Max, long Count);

/// <summary>The result of one run (written as result.json).</summary>
public sealed record LoadReport(
    string Scenario,
    int Sessions,
    int Connected,
    int ConnectFailures,
    long Sent,
    long Received,
    long Lost,
    long Duplicated,
    long OutOfOrder,
    double Seconds,
    double MessagesPerSecond,
    Percentiles LatencyMs,
    Percentiles ConnectMs,
    int Reconnects,
    IReadOnlyDictionary<string, int> ClosesByCode,
    string Command);
