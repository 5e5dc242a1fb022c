using Microsoft.Extensions.Options;

namespace Relay.Gateway;

/// <summary>Validates <see cref="BackhaulOptions"/> ("Gateway:Backhaul"); part of <see cref="GatewayOptionsValidator"/>.</summary>
internal sealed class BackhaulOptionsValidator : IValidateOptions<BackhaulOptions>
{
    public ValidateOptionsResult Validate(string? name, BackhaulOptions options) =>
        Check(options) is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    private static string? Check(BackhaulOptions o)
    {
        if (o.Endpoints.Any(string.IsNullOrWhiteSpace)) return "Gateway:Backhaul:Endpoints must not hold an empty endpoint (host:port).";
        if (string.IsNullOrEmpty(o.SharedKey) || o.SharedKey.Length < 16) return "Gateway:Backhaul:SharedKey must be at least 16 characters (the same key as the core's).";
        if (string.IsNullOrWhiteSpace(o.RelayId)) return "Gateway:Backhaul:RelayId is required.";
        if (o.LinksPerEndpoint < 1) return $"Gateway:Backhaul:LinksPerEndpoint must be at least 1; was {o.LinksPerEndpoint}.";
        if (o.HeartbeatInterval <= TimeSpan.Zero || o.DeadLinkTimeout <= o.HeartbeatInterval) return "Gateway:Backhaul:DeadLinkTimeout must be longer than Gateway:Backhaul:HeartbeatInterval (both positive).";
        return null;
    }
}
