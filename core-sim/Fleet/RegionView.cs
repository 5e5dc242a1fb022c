namespace Relay.CoreSim.Fleet;

/// <summary>One region in GET /fleet's <c>regions</c> (issue 17).</summary>
/// <param name="Name">The region.</param>
/// <param name="Source"><c>regions file</c>, or <c>reports</c> when only the relays' own reports name it.</param>
/// <param name="Fallback">Its fallback regions in order (empty without a regions file).</param>
/// <param name="Subnets">Its users' subnets (empty without a regions file).</param>
/// <param name="Relays">Its relays with state and sessions.</param>
/// <param name="Users">Sessions on its relays (the users it serves now, its own and others that failed over to it).</param>
/// <param name="Ready">True when a relay of the region is healthy or degraded (takes new sessions, so a rebalance may send users home).</param>
/// <param name="UsersAway">Its users (client address in its subnets) on relays of other regions, from the core's relayed sessions; null without a regions file.</param>
/// <param name="Away">Those users by the relay they are on.</param>
internal sealed record RegionView(
    string Name,
    string Source,
    IReadOnlyList<string> Fallback,
    IReadOnlyList<string> Subnets,
    IReadOnlyList<RegionRelayView> Relays,
    long Users,
    bool Ready,
    int? UsersAway,
    IReadOnlyDictionary<string, int>? Away);
