using System.Reflection;

namespace Relay.Contracts.Configuration;

/// <summary>One configuration key that an options property reads, e.g. <c>Gateway:Backhaul:SharedKey</c>.</summary>
/// <param name="Key">The full key, sections joined with ':' as configuration spells them.</param>
/// <param name="Property">The options property the binder sets from it.</param>
/// <param name="Default">The property's value on a new options object.</param>
public sealed record Setting(string Key, PropertyInfo Property, object? Default);
