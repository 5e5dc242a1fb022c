namespace Relay.Contracts.Control;

/// <summary>Drain: stop taking sessions and move the relay's sessions away (command <c>drain</c>).</summary>
/// <param name="Source">Who orders it, which decides whether the relay may refuse and whether it ends by itself.</param>
public sealed record DrainOrder(DrainOrderSource Source) : CoreOrder;
