using System.Diagnostics.Metrics;
using Relay.Tunnel.Links;
using Relay.Tunnel.Pool;

namespace Relay.Gateway.Configuration;

/// <summary>Backhaul settings of the gateway ("Gateway:Backhaul").</summary>
public sealed class BackhaulOptions
{
    /// <summary>The core endpoint used when <see cref="Endpoints"/> names none.</summary>
    public const string DefaultEndpoint = "127.0.0.1:7000";

    /// <summary>Core endpoints "host:port" (Gateway:Backhaul:Endpoints:0, :1, …). Defaults to <see cref="DefaultEndpoint"/> when none is set.</summary>
    /// <remarks>
    /// Empty here: the configuration binder appends to a pre-filled array instead of replacing it. The host fills in
    /// <see cref="DefaultEndpoint"/> after binding (a PostConfigure), so validation only reads.
    /// </remarks>
    public string[] Endpoints { get; set; } = [];

    /// <summary>
    /// This relay's own backhaul key, the one the core holds for <see cref="RelayId"/> (core-sim:
    /// <c>CoreSim:RelayKeys:&lt;relayId&gt;</c>): base64 of at least 32 random bytes (<c>dotnet Relay.CoreSim.dll keygen</c>).
    /// A development key (any text of ≥ 16 bytes) is accepted only in the Development environment. Required; in
    /// Development it defaults to the development key.
    /// </summary>
    public string SharedKey { get; set; } = string.Empty;

    /// <summary>
    /// A file holding <see cref="SharedKey"/> (issue 19): read at start and trimmed; refused when every user may read
    /// it. Whichever of the two is set in the later configuration source wins. Defaults to none.
    /// </summary>
    public string? SharedKeyFile { get; set; }

    /// <summary>This relay's id. Defaults to the machine name.</summary>
    public string RelayId { get; set; } = Environment.MachineName;

    /// <summary>This relay's region. Defaults to "local".</summary>
    public string Region { get; set; } = "local";

    /// <summary>
    /// Links per core endpoint. Defaults to 8 (4 until issue 22: with <see cref="DuplicateFramesUpTo"/>, a stream's two
    /// links are each stalled by a loss a smaller share of the time when the traffic is spread over more links; measured
    /// with Relay.WanBench at 1 % loss, message RTT p99 / p50 went from 1.85 with 4 links to 1.40 with 8).
    /// </summary>
    public int LinksPerEndpoint { get; set; } = 8;

    /// <summary>Ping interval on each link (link RTT). Defaults to 5 s.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A link silent this long is dead. Defaults to 15 s.</summary>
    public TimeSpan DeadLinkTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Issue 22, tails under loss: a data frame of at most this many bytes also goes out on a second link to the core,
    /// and the first copy to arrive wins (the stream numbers its frames and drops what it holds), so one lost packet
    /// stalls one TCP link, not the message. Costs the copies' bytes (about twice the backhaul bytes of chat messages).
    /// Needs <see cref="LinksPerEndpoint"/> ≥ 2; a core that predates it ignores the copies. Defaults to 1024; 0 turns it off.
    /// </summary>
    public int DuplicateFramesUpTo { get; set; } = 1024;

    /// <summary>
    /// Issue 21: the copies of <see cref="DuplicateFramesUpTo"/> are made only on a far or lossy link, within the last
    /// minute: on Linux the kernel's smallest round trip of the link's TCP path at least this long (TCP_INFO); elsewhere the smallest of its last three heartbeat round trips, or a ping unanswered for 200 ms. On loopback or a LAN they doubled the backhaul's frames for nothing.
    /// Defaults to 20 ms; 0 copies on every link (as issue 22 did); at most 10 s.
    /// </summary>
    public TimeSpan DuplicateAboveRtt { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Largest stream message. Defaults to 128 KiB; at most the backhaul stream window (256 KiB).</summary>
    public int MaxMessageSize { get; set; } = 128 * 1024;

    /// <summary>
    /// The link pool these settings make: the backhaul service's, and <see cref="BackhaulOptionsValidator"/>'s last check
    /// (the tunnel's own rules, so that a value it refuses stops start-up with one line, not a stack trace).
    /// </summary>
    internal LinkPoolOptions ToPoolOptions(TimeProvider time, IMeterFactory? meterFactory) => new()
    {
        RelayId = RelayId,
        Region = Region,
        Endpoints = Endpoints.Length > 0 ? Endpoints : [DefaultEndpoint],
        LinksPerEndpoint = LinksPerEndpoint,
        MeterFactory = meterFactory,
        Link = new Relay.Tunnel.Links.LinkOptions
        {
            SharedKey = LinkKey.TryParse(SharedKey, development: true, out var key, out _) ? key : [],
            MaxMessageSize = MaxMessageSize,
            HeartbeatInterval = HeartbeatInterval,
            DeadLinkTimeout = DeadLinkTimeout,
            DuplicateFramesUpTo = DuplicateFramesUpTo,
            DuplicateAboveRtt = DuplicateAboveRtt,
            TimeProvider = time,
        },
    };
}
