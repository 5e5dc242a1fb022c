namespace Relay.CoreSim.Configuration;

/// <summary>
/// Cluster mode (issue 20): several core-sim nodes share sessions, replay history, rooms and ownership through one Redis.
/// Unset <see cref="Redis"/>: the embedded in-process state, as a single core-sim always had.
/// </summary>
public sealed class ClusterOptions
{
    /// <summary>The broker, <c>host:port</c> (a StackExchange.Redis configuration string). Unset: no cluster.</summary>
    public string? Redis { get; set; }

    /// <summary>Prefix of every key and channel this cluster uses in the broker (several clusters may share one Redis).</summary>
    public string KeyPrefix { get; set; } = "relay:";

    /// <summary>How long a node's ownership lease of a session lasts without renewal (renewed at a third of it while served).</summary>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Longest wait for one broker call; past it the session's connection is closed with 1013 (try again later).</summary>
    public TimeSpan BrokerTimeout { get; set; } = TimeSpan.FromSeconds(2);
}
