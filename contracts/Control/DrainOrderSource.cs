using System.Text.Json.Serialization;

namespace Relay.Contracts.Control;

/// <summary>Who ordered a <see cref="DrainOrder"/>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DrainOrderSource>))]
public enum DrainOrderSource
{
    /// <summary>An operator, from the fleet dashboard: refused when the relay is the last healthy one.</summary>
    [JsonStringEnumMemberName("operator")]
    Operator,

    /// <summary>An operator who forces it: never refused.</summary>
    [JsonStringEnumMemberName("force")]
    Force,

    /// <summary>The core's fleet policy (the relay stayed sick): ends by itself once the relay is healthy again.</summary>
    [JsonStringEnumMemberName("policy")]
    Policy,
}
