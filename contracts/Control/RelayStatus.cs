using System.Text.Json.Serialization;

namespace Relay.Contracts.Control;

/// <summary>A relay's state as the control plane names it (lower-case on the wire, in every serializer).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RelayStatus>))]
public enum RelayStatus
{
    /// <summary>The core has no fresh report from the relay (none yet, or a stale one).</summary>
    [JsonStringEnumMemberName("unknown")]
    Unknown,

    /// <summary>Takes sessions at full weight.</summary>
    [JsonStringEnumMemberName("healthy")]
    Healthy,

    /// <summary>Takes sessions at a reduced weight.</summary>
    [JsonStringEnumMemberName("degraded")]
    Degraded,

    /// <summary>Takes no sessions.</summary>
    [JsonStringEnumMemberName("sick")]
    Sick,

    /// <summary>Takes no sessions and moves its sessions away (4001).</summary>
    [JsonStringEnumMemberName("draining")]
    Draining,

    /// <summary>Core side only: the relay has no backhaul link up.</summary>
    [JsonStringEnumMemberName("unreachable")]
    Unreachable,
}
