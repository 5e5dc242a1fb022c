using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Contracts.Regions;

/// <summary>Source-generated JSON of the regions file and the negotiate document: camelCase, required members enforced.</summary>
[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(RegionsFile))]
[JsonSerializable(typeof(NegotiateResponse))]
internal sealed partial class RegionsJsonContext : JsonSerializerContext;
