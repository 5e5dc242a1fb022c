namespace Relay.LoadGen;

/// <summary>Percentiles in milliseconds.</summary>
public sealed record Percentiles(double P50, double P90, double P99, double P999, double Max, long Count);

/// <summary>One point of a latency distribution: the value (ms) at a percentile.</summary>
public sealed record PercentilePoint(double Percentile, double Ms);

/// <summary>Cumulative counts at a moment of the run.</summary>
public sealed record TimelinePoint(double Seconds, int Connected, long Sent, long Received, double P99Ms = 0, double MaxMs = 0, double CrossCpuNs = 0);

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
    string Command)
{
    /// <summary>The sending phase was ended by a signal (Ctrl-C, SIGTERM) before --seconds; drained and counted all the same.</summary>
    public bool StoppedEarly { get; init; }

    /// <summary>Reconnects that came back as a new session, not a resume: the core had ended the old one (its resume got
    /// session_unknown, 4004: expired, or past CoreSim:MaxDetachedSessionsPerUser); what it had queued for it is gone.
    /// The client resends its own unacknowledged messages, so these show as lost only when the core had some queued.</summary>
    public int SessionsRestarted { get; init; }

    /// <summary>Room size (0: echo mode). In room mode Received counts deliveries (each message reaches every other member).</summary>
    public int RoomSize { get; init; }

    /// <summary>Deliveries the run expected (echo: Sent; rooms: each message times the other members).</summary>
    public long Expected { get; init; }

    /// <summary>Offered rate per session and the client window (steady, failover).</summary>
    public double RatePerSession { get; init; }

    /// <summary>The client window (messages unacknowledged per session).</summary>
    public int Window { get; init; }

    /// <summary>wss:// sessions over HTTP/2 (RFC 8441, --http2).</summary>
    public bool Http2 { get; init; }

    /// <summary>Seconds of sending that were not measured.</summary>
    public double WarmupSeconds { get; init; }

    /// <summary>Messages sent per second in the measured window.</summary>
    public double SentPerSecond { get; init; }

    /// <summary>Seconds from the first connect to the last welcome.</summary>
    public double ConnectSeconds { get; init; }

    /// <summary>Sessions welcomed per second during the connect phase.</summary>
    public double SessionsPerSecond { get; init; }

    /// <summary>Message latency by percentile (for the plot).</summary>
    public IReadOnlyList<PercentilePoint> LatencyCurve { get; init; } = [];

    /// <summary>Connect time by percentile (for the plot).</summary>
    public IReadOnlyList<PercentilePoint> ConnectCurve { get; init; } = [];

    /// <summary>CPU seconds the load generator itself used (it shares the machine with what it measures).</summary>
    public double LoadGenCpuSeconds { get; init; }

    /// <summary>The sessions that never connected (<see cref="ConnectFailures"/>), by the reason their last attempt failed:
    /// "HTTP 429: more than 100 sessions from one address" (a refused upgrade: its status and the first line of its
    /// body), "socket error: ConnectionRefused" (no answer), or the client's error when the upgrade succeeded but no
    /// welcome came. Most frequent first; at most 32 reasons (the rest as "other reasons").</summary>
    public IReadOnlyDictionary<string, int> ConnectFailuresByReason { get; init; } = new Dictionary<string, int>();

    /// <summary>Every failed websocket upgrade of the run, by the same reasons: the first connects and their retries, and
    /// reconnects later in the run (a killed gateway's "socket error: ConnectionRefused").</summary>
    public IReadOnlyDictionary<string, int> FailedAttemptsByReason { get; init; } = new Dictionary<string, int>();

    /// <summary>Counts sampled every second.</summary>
    public IReadOnlyList<TimelinePoint> Timeline { get; init; } = [];
}
