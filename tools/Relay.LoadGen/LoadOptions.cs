namespace Relay.LoadGen;

/// <summary>What to run. Bounded in count and time; loopback by default.</summary>
public sealed class LoadOptions
{
    /// <summary>connect-storm, steady, failover or idle. Defaults to steady.</summary>
    public string Scenario { get; set; } = "steady";

    /// <summary>The websocket URL when none is given: core-sim's own /ws on its default port.</summary>
    public static Uri DefaultUrl { get; } = new("ws://127.0.0.1:7080/ws");

    /// <summary>Websocket URLs (gateways or core-sim /ws). Defaults to <see cref="DefaultUrl"/>, ws://127.0.0.1:7080/ws.</summary>
    public List<Uri> Urls { get; set; } = [];

    /// <summary>core-sim's POST /v1/tokens. Defaults to http://127.0.0.1:7080/v1/tokens.</summary>
    public Uri TokenUrl { get; set; } = new("http://127.0.0.1:7080/v1/tokens");

    /// <summary>core-sim's admin key (CoreSim:AdminKey), sent as a bearer with token requests and kicks: needed for the
    /// failover kicks, for room mode (its sessions are operators: a visitor may join only its own room) and for any token
    /// when core-sim runs outside Development. Defaults to the environment variable RELAY_CORE_ADMIN_KEY, else none.</summary>
    public string? AdminKey { get; set; } = Environment.GetEnvironmentVariable("RELAY_CORE_ADMIN_KEY") is { Length: > 0 } key ? key : null;

    /// <summary>core-sim's fault base (failover kicks connections there). Defaults to TokenUrl's host + /v1/faults.</summary>
    public Uri? FaultUrl { get; set; }

    /// <summary>Sessions. Defaults to 100; at most 100,000.</summary>
    public int Sessions { get; set; } = 100;

    /// <summary>Messages per second per session (steady, failover); <see cref="double.PositiveInfinity"/> ("--rate max"):
    /// closed loop, each session sends whenever its <see cref="Window"/> has room (saturation). Defaults to 10.</summary>
    public double Rate { get; set; } = 10;

    /// <summary>Sending time in seconds (steady, failover), holding time (idle). Defaults to 10; at most 3600.</summary>
    public double Seconds { get; set; } = 10;

    /// <summary>Seconds at the start of sending that are not measured (latency, msg/s): JIT and pools warm up.
    /// Defaults to 0; less than <see cref="Seconds"/>.</summary>
    public double Warmup { get; set; }

    /// <summary>Connects in flight at once. Defaults to 200.</summary>
    public int ConnectConcurrency { get; set; } = 200;

    /// <summary>Failed connection attempts in a row (with backoff up to 5 s between them) before a session gives up: at
    /// the start (a session that gives up there is a connect failure) and on each reconnect (the client's
    /// MaxReconnectAttempts). Defaults to 30 (the client itself retries forever by default); 1-1000.</summary>
    public int ConnectAttempts { get; set; } = 30;

    /// <summary>Failover: seconds between kicks. Defaults to 2.</summary>
    public double FaultEvery { get; set; } = 2;

    /// <summary>Measures the round trip of a cache line between two CPUs every second of the run (<see cref="CrossCpuProbe"/>),
    /// into the timeline. Defaults to off.</summary>
    public bool CrossCpuProbe { get; set; }

    /// <summary>Seconds of silence before a session sends a heartbeat ping (the client's
    /// <c>RelayClientOptions.Heartbeat</c>); 0 turns it off. Defaults to 5, the client's default.</summary>
    public double Heartbeat { get; set; } = 5;

    /// <summary>Room mode: sessions are grouped into rooms of this many (joined in the hello); each message is
    /// delivered to every other member. The sessions are operators (needs <see cref="AdminKey"/>). Defaults to 0: echo mode.</summary>
    public int RoomSize { get; set; }

    /// <summary>Messages a session may have unacknowledged before its sends wait (the client's window).
    /// Defaults to 10,000. A small window with a high rate measures the saturated throughput.</summary>
    public int Window { get; set; } = 10_000;

    /// <summary>wss:// sessions over HTTP/2 (RFC 8441), each on its own HTTP/2 connection (--http2); ws:// URLs stay HTTP/1.1.</summary>
    public bool Http2 { get; set; }

    /// <summary>Live progress display: auto (on unless stdout is redirected), on or off. Defaults to auto.</summary>
    public string Progress { get; set; } = "auto";

    /// <summary>A file written (with the connected count) once every session has connected; scripts wait for it
    /// to measure the servers while all sessions are up. Defaults to none.</summary>
    public string? ReadyFile { get; set; }

    /// <summary>Allow non-loopback targets. Defaults to false.</summary>
    public bool AllowRemote { get; set; }

    /// <summary>Where to write result.json, summary.md and latency.html; a relative path is relative to the current
    /// directory. Defaults to ./loadgen-results.</summary>
    public string OutputDirectory { get; set; } = "loadgen-results";

    /// <summary>True when the scenario sends at a rate for <see cref="Seconds"/>.</summary>
    public bool IsTimed => Scenario is "steady" or "failover";

    /// <summary>These options for one run of <c>--rounds-from-stdin</c>: another target, report folder and ready file.</summary>
    public LoadOptions ForRound(Uri url, string outputDirectory, string? readyFile)
    {
        var round = (LoadOptions)MemberwiseClone();
        round.Urls = [url];
        round.OutputDirectory = outputDirectory;
        round.ReadyFile = readyFile;
        return round;
    }

    /// <summary>Throws naming the first bad setting.</summary>
    public void Validate()
    {
        if (Scenario is not ("connect-storm" or "steady" or "failover" or "idle"))
        {
            throw new ArgumentException($"scenario: must be connect-storm, steady, failover or idle; was '{Scenario}'.");
        }

        if (Sessions is < 1 or > 100_000 || Rate is <= 0 or (> 10_000 and not double.PositiveInfinity) || Seconds is <= 0 or > 3600 || ConnectConcurrency < 1)
        {
            throw new ArgumentException("--sessions 1-100000, --rate 0-10000 or max, --seconds 0-3600, --connect-concurrency >= 1.");
        }

        if (ConnectAttempts is < 1 or > 1000)
        {
            throw new ArgumentException($"--connect-attempts: 1-1000; was {ConnectAttempts}.");
        }

        if (Warmup < 0 || Warmup >= Seconds)
        {
            throw new ArgumentException($"--warmup: must be at least 0 and less than --seconds ({Seconds}); was {Warmup}.");
        }

        if (RoomSize is < 0 or 1 or > 1000)
        {
            throw new ArgumentException($"--room-size: 0 (echo) or 2-1000; was {RoomSize}.");
        }

        if (Window is < 1 or > 100_000)
        {
            throw new ArgumentException($"--window: 1-100000; was {Window}.");
        }

        if (Progress is not ("auto" or "on" or "off"))
        {
            throw new ArgumentException($"--progress: auto, on or off; was '{Progress}'.");
        }

        if (Heartbeat is < 0 or > 3600 || double.IsNaN(Heartbeat))
        {
            throw new ArgumentException($"--heartbeat: 0 (off) to 3600 seconds; was {Heartbeat}.");
        }

        if (FaultEvery is <= 0 or > 3600 || double.IsNaN(FaultEvery))
        {
            throw new ArgumentException($"--fault-every: more than 0 and at most 3600 seconds; was {FaultEvery}.");
        }

        if (!AllowRemote && Urls.Append(TokenUrl).Concat(FaultUrl is null ? [] : [FaultUrl]).Any(u => !u.IsLoopback))
        {
            throw new ArgumentException("targets (--url, --token-url, --fault-url) must be loopback unless --allow-remote is given.");
        }
    }
}
