using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Contracts.Regions;

/// <summary>Source-generated JSON for the regions file: camelCase fields, every field required, nulls refused.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(RegionsFile))]
internal sealed partial class RegionsJsonContext : JsonSerializerContext;
