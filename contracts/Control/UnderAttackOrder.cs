namespace Relay.Contracts.Control;

/// <summary>
/// Under Attack mode on or off, ordered by the core's fleet policy or an operator at the fleet dashboard (command
/// <c>under-attack</c>). On until an order (or the relay's admin API) turns it off; the relay's automatic trigger
/// does not turn off a mode the core ordered.
/// </summary>
/// <param name="On">True: new sessions must solve a proof-of-work challenge; false: the mode ends.</param>
public sealed record UnderAttackOrder(bool On) : CoreOrder;
