namespace Relay.Contracts.Control;

/// <summary>
/// Rebalance (issue 17, command <c>rebalance</c>): <paramref name="Region"/> has healthy relays again, so its users who
/// failed over to this relay go home. The relay closes with 4001 (in batches, like a drain) only the sessions whose client
/// address is in <paramref name="Region"/> by the region routes of its last fleet view, and keeps taking new sessions: it
/// does not drain. Ordered by an operator (core-sim's <c>POST /v1/regions/{region}/rebalance</c>, the dashboard's button),
/// sent only to relays outside the region; a relay of that region, or one whose fleet view has no routes, moves nothing.
/// A relay that predates it skips the unknown command.
/// </summary>
/// <param name="Region">The region whose users go home.</param>
public sealed record RebalanceOrder(string Region) : CoreOrder;
