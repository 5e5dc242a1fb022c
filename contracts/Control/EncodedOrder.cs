namespace Relay.Contracts.Control;

/// <summary>A <see cref="CoreOrder"/> as a backhaul Command frame carries it.</summary>
/// <param name="Name">The command name (<c>fleet</c>, <c>drain</c>, <c>undrain</c>).</param>
/// <param name="Payload">The UTF-8 JSON argument.</param>
public readonly record struct EncodedOrder(string Name, byte[] Payload);
