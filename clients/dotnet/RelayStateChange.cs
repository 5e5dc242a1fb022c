namespace Relay.Client;

/// <summary>A state change of a <see cref="RelayClient"/>.</summary>
/// <param name="State">The new state.</param>
/// <param name="SessionId">The session (after a welcome).</param>
/// <param name="Resumed">On <see cref="RelayClientState.Connected"/>: true when the session was resumed.</param>
/// <param name="CloseCode">On leaving Connected: the close code received (null when the connection just broke).</param>
/// <param name="Reason">Close reason or error text.</param>
/// <param name="Steering">With a negotiate URL: the region, relay and why (null otherwise, and before the first connection).</param>
public sealed record RelayStateChange(RelayClientState State, string? SessionId, bool Resumed, int? CloseCode, string? Reason, RelaySteering? Steering = null);
