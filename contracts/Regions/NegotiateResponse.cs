using System.Text.Json;

namespace Relay.Contracts.Regions;

/// <summary>
/// The answer of <c>GET /v1/negotiate</c> (core-sim and every gateway; docs/PROTOCOL.md): the caller's region, why,
/// and the healthy relays best first; on <c>POST</c> to the core with a token, a fresh token.
/// </summary>
/// <param name="Region">The region picked for the caller (null when nothing names one).</param>
/// <param name="Reason">Why, as a sentence a user can read.</param>
/// <param name="Relays">Healthy and degraded relays, best first: the region's by weight, then its fallback regions'.</param>
/// <param name="Token">A fresh token (POST to the core with a valid token); otherwise null.</param>
/// <param name="TokenUrl">Where a fresh token is had (a gateway's answer: the core's negotiate URL, when configured); otherwise null.</param>
public sealed record NegotiateResponse(string? Region, string Reason, IReadOnlyList<NegotiateRelay> Relays, string? Token = null, string? TokenUrl = null)
{
    /// <summary>Largest negotiate document a client reads, in bytes.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>The document as JSON (camelCase).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, RegionsJsonContext.Default.NegotiateResponse);

    /// <summary>Parses a negotiate document; null when it is not one.</summary>
    public static NegotiateResponse? TryParse(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxBytes)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(utf8, RegionsJsonContext.Default.NegotiateResponse);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
