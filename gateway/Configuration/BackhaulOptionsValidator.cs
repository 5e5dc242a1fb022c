using Microsoft.Extensions.Options;
using Relay.Tunnel.Links;

namespace Relay.Gateway.Configuration;

/// <summary>Validates <see cref="BackhaulOptions"/> ("Gateway:Backhaul"); part of <see cref="GatewayOptionsValidator"/>.</summary>
/// <param name="development">True in the Development environment: a development key is accepted.</param>
internal sealed class BackhaulOptionsValidator(bool development = false) : IValidateOptions<BackhaulOptions>
{
    public ValidateOptionsResult Validate(string? name, BackhaulOptions options) =>
        Check(options, development) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    private static string? Check(BackhaulOptions o, bool development)
    {
        if (o.Endpoints.Any(string.IsNullOrWhiteSpace)) return "Gateway:Backhaul:Endpoints must not hold an empty endpoint (host:port).";
        if (!LinkKey.TryParse(o.SharedKey, development, out _, out var keyError)) return $"Gateway:Backhaul:SharedKey (this relay's key, as the core holds it for its RelayId) {keyError}.";
        if (string.IsNullOrWhiteSpace(o.RelayId)) return "Gateway:Backhaul:RelayId is required.";
        if (o.LinksPerEndpoint < 1) return $"Gateway:Backhaul:LinksPerEndpoint must be at least 1; was {o.LinksPerEndpoint}.";
        if (o.DuplicateFramesUpTo is < 0 or > 16 * 1024) return $"Gateway:Backhaul:DuplicateFramesUpTo must be 0 (off) to 16384 bytes; was {o.DuplicateFramesUpTo}.";
        if (o.HeartbeatInterval <= TimeSpan.Zero || o.DeadLinkTimeout <= o.HeartbeatInterval) return "Gateway:Backhaul:DeadLinkTimeout must be longer than Gateway:Backhaul:HeartbeatInterval (both positive).";
        return null;
    }
}
