namespace Relay.Contracts.Control;

/// <summary>
/// Core → relay, a Command frame over the backhaul: <see cref="FleetView"/>, <see cref="DrainOrder"/>,
/// <see cref="UndrainOrder"/>, <see cref="UnderAttackOrder"/>, <see cref="RebalanceOrder"/> or <see cref="CachePurgeOrder"/> (issue 18). <see cref="ControlCodec.Encode(CoreOrder)"/> gives the frame's name and payload.
/// </summary>
public abstract record CoreOrder;
