namespace Relay.Contracts.Control;

/// <summary>Undrain: end a drain, take sessions again (command <c>undrain</c>).</summary>
public sealed record UndrainOrder : CoreOrder;
