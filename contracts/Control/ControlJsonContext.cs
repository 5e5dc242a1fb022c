using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Contracts.Control;

/// <summary>
/// Source-generated JSON for the control messages: camelCase fields, nullability and constructor parameters
/// enforced on read. The scalar and map types are the run-time types of <see cref="SignalReport.Values"/>.
/// </summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(RelayHealthReport))]
[JsonSerializable(typeof(FleetView))]
[JsonSerializable(typeof(DrainOrder))]
[JsonSerializable(typeof(UndrainOrder))]
[JsonSerializable(typeof(UnderAttackOrder))]
[JsonSerializable(typeof(RebalanceOrder))]
[JsonSerializable(typeof(CachePurgeOrder))]
[JsonSerializable(typeof(int))]
[JsonSerializable(typeof(long))]
[JsonSerializable(typeof(double))]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Dictionary<string, long>))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
