namespace Relay.LoadGen;

/// <summary>What to run. Bounded in count and time; loopback by default.</summary>
public sealed class LoadOptions
{
    /// <summary>connect-storm, steady or failover. Defaults to steady.</summary>
    public string Scenario { get; set; } = "steady";

    /// <summary>Websocket URLs (gateways or core-sim /ws). Defaults to ws://127.0.0.1:7080/ws.</summary>
    public List<Uri> Urls { get; set; } = [];

    /// <summary>core-sim's POST /v1/tokens. Defaults to http://127.0.0.1:7080/v1/tokens.</summary>
    public Uri TokenUrl { get; set; } = new("http://127.0.0.1:7080/v1/tokens");

    /// <summary>core-sim's fault base (failover kicks connections there). Defaults to TokenUrl's host + /v1/faults.</summary>
    public Uri? FaultUrl { get; set; }

    /// <summary>Sessions. Defaults to 100; at most 100,000.</summary>
    public int Sessions { get; set; } = 100;

    /// <summary>Messages per second per session (steady, failover). Defaults to 10.</summary>
    public double Rate { get; set; } = 10;

    /// <summary>Sending time in seconds (steady, failover). Defaults to 10; at most 3600.</summary>
    public double Seconds { get; set; } = 10;

    /// <summary>Connects in flight at once. Defaults to 200.</summary>
    public int ConnectConcurrency { get; set; } = 200;

    /// <summary>Failover: seconds between kicks. Defaults to 2.</summary>
    public double FaultEvery { get; set; } = 2;

    /// <summary>Room mode: sessions send to this room (pairs of sessions share a room). Defaults to echo mode (null).</summary>
    public bool RoomMode { get; set; }

    /// <summary>Allow non-loopback targets. Defaults to false.</summary>
    public bool AllowRemote { get; set; }

    /// <summary>Where to write result.json and summary.md. Defaults to ./loadgen-results.</summary>
    public string OutputDirectory { get; set; } = "loadgen-results";

    /// <summary>Throws naming the first bad setting.</summary>
    public void Validate()
    {
        if (Scenario is not ("connect-storm" or "steady" or "failover"))
        {
            throw new ArgumentException($"scenario: must be connect-storm, steady or failover; was '{Scenario}'.");
        }

        if (Sessions is < 1 or > 100_000 || Rate is <= 0 or > 10_000 || Seconds is <= 0 or > 3600 || ConnectConcurrency < 1)
        {
            throw new ArgumentException("--sessions 1-100000, --rate 0-10000, --seconds 0-3600, --connect-concurrency >= 1.");
        }

        if (!AllowRemote && Urls.Concat([TokenUrl]).Any(u => !u.IsLoopback))
        {
            throw new ArgumentException("targets must be loopback unless --allow-remote is given.");
        }
    }
}
