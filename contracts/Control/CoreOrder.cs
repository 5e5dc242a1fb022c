namespace Relay.Contracts.Control;

/// <summary>
/// Core → relay, a Command frame over the backhaul: <see cref="FleetView"/>, <see cref="DrainOrder"/>,
/// <see cref="UndrainOrder"/>, <see cref="UnderAttackOrder"/> or <see cref="RebalanceOrder"/>. <see cref="ControlCodec.Encode(CoreOrder)"/> gives the frame's name and payload.
/// </summary>
public abstract record CoreOrder;
