using Relay.Gateway.Configuration;

namespace Relay.Gateway.Security;

/// <summary>
/// Under Attack mode and the connection-rate limits at admission ("Gateway:UnderAttack"). While the mode is on a new
/// session must first solve a proof-of-work challenge (<c>GET /challenge</c>); sessions already open and resumes
/// (a token <c>sub</c> with a session on this relay within <see cref="ResumeWindow"/>) are not affected.
/// </summary>
public sealed class UnderAttackOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = GatewayOptions.Section + ":UnderAttack";

    /// <summary>The mode switches on and off by itself from the connection rates below. Defaults to true.</summary>
    public bool AutoTrigger { get; set; } = true;

    /// <summary>
    /// New connections per second (every TCP connection a client listener accepts) at which the mode switches on. Defaults to 0:
    /// off, because a legitimate failover (thousands of clients reconnecting at once) looks the same; set it from the
    /// relay's capacity.
    /// </summary>
    public int NewConnectionsPerSecondOn { get; set; }

    /// <summary>New connections per second below which an automatic mode may end. Defaults to 0: a quarter of <see cref="NewConnectionsPerSecondOn"/>.</summary>
    public int NewConnectionsPerSecondOff { get; set; }

    /// <summary>
    /// Refused connections per second (connections Kestrel rejected at its limits, connections the connection gate
    /// refused or evicted at its caps, and admissions this mode and the rate limits refused) at which the mode switches on. Defaults to 200; 0 turns this trigger off.
    /// </summary>
    public int RefusedPerSecondOn { get; set; } = 200;

    /// <summary>Refused connections per second below which an automatic mode may end. Defaults to 0: a quarter of <see cref="RefusedPerSecondOn"/>.</summary>
    public int RefusedPerSecondOff { get; set; }

    /// <summary>
    /// The most refusals per second one client (an IPv4 address, an IPv6 /64) adds to the refused rate above. The
    /// per-client limits refuse a single client's flood by themselves (its TLS handshake loop is reset at accept some
    /// 2,000 times a second); counted in full it would also switch the mode on, proof of work for every new user, on one
    /// client's say. Defaults to 20 (with <see cref="RefusedPerSecondOn"/> at 200, ten clients over their limits at once);
    /// 0 counts every refusal. Refusals whose client is unknown (Kestrel's own limits, the connection cap) always count.
    /// </summary>
    public int RefusedPerAddressPerSecond { get; set; } = 20;

    /// <summary>
    /// While the mode is on, the time a new connection has to send its PROXY header and request head (instead of
    /// <see cref="GatewayOptions.RequestHeadTimeout"/>, when shorter), so idle connections of a flood are closed
    /// sooner. Defaults to 2 s.
    /// </summary>
    public TimeSpan RequestHeadTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>An automatic mode ends once both rates stayed below their lower thresholds this long. Defaults to 60 s.</summary>
    public TimeSpan OffAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the rates are measured. Defaults to 1 s.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Leading zero bits of SHA-256(challenge ‖ nonce) a solution needs (2^n hashes of work). Defaults to 18.</summary>
    public int Difficulty { get; set; } = 18;

    /// <summary>How long a challenge can be used. Defaults to 60 s.</summary>
    public TimeSpan ChallengeLifetime { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>A token <c>sub</c> that had a session on this relay within this time resumes without a challenge. Defaults to 10 min.</summary>
    public TimeSpan ResumeWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Solved challenges remembered (until they expire) so a solution admits one session only. Defaults to 100,000; 0 turns replay checks off.</summary>
    public int ReplayCacheSize { get; set; } = 100_000;

    /// <summary>Apply the connection-rate limits below at every admission, not only while the mode is on. Defaults to false.</summary>
    public bool RateLimitAlways { get; set; }

    /// <summary>Sustained new sessions per second from one address (token bucket). Defaults to 5.</summary>
    public int ConnectionsPerSecondPerAddress { get; set; } = 5;

    /// <summary>Burst of new sessions from one address. Defaults to 20.</summary>
    public int ConnectionBurstPerAddress { get; set; } = 20;

    /// <summary>Sustained new sessions per second from one IPv4 /24 or IPv6 /48. Defaults to 50.</summary>
    public int ConnectionsPerSecondPerPrefix { get; set; } = 50;

    /// <summary>Burst of new sessions from one IPv4 /24 or IPv6 /48. Defaults to 200.</summary>
    public int ConnectionBurstPerPrefix { get; set; } = 200;

    /// <summary>The lower new-connection threshold in effect.</summary>
    internal int NewConnectionsOff => NewConnectionsPerSecondOff > 0 ? NewConnectionsPerSecondOff : NewConnectionsPerSecondOn / 4;

    /// <summary>The lower refused-connection threshold in effect.</summary>
    internal int RefusedOff => RefusedPerSecondOff > 0 ? RefusedPerSecondOff : RefusedPerSecondOn / 4;
}
