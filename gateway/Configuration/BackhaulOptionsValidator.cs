using Microsoft.Extensions.Options;
using Relay.Tunnel.Links;

namespace Relay.Gateway.Configuration;

/// <summary>Validates <see cref="BackhaulOptions"/> ("Gateway:Backhaul"); part of <see cref="GatewayOptionsValidator"/>.</summary>
/// <param name="development">True in the Development environment: a development key is accepted.</param>
internal sealed class BackhaulOptionsValidator(bool development = false) : IValidateOptions<BackhaulOptions>
{
    public ValidateOptionsResult Validate(string? name, BackhaulOptions options) =>
        Problems(options, development).FirstOrDefault() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    /// <summary>
    /// Every bad setting, one line each (start-up reports the first; <c>relay check</c> all). When this validator finds
    /// nothing, the tunnel's own rules for the link pool these settings make have the last word (their first refusal,
    /// named as the setting), so nothing the tunnel refuses gets past start-up.
    /// </summary>
    internal static IEnumerable<string> Problems(BackhaulOptions o, bool development)
    {
        var problems = OwnProblems(o, development).ToList();
        if (problems.Count == 0 && TunnelProblem(o) is { } problem)
        {
            problems.Add(problem);
        }

        return problems;
    }

    private static string? TunnelProblem(BackhaulOptions o)
    {
        try
        {
            o.ToPoolOptions(TimeProvider.System, meterFactory: null).Validate();
            return null;
        }
        catch (ArgumentException e)
        {
            return $"Gateway:Backhaul:{e.Message}"; // the tunnel's messages start with the setting's name
        }
    }

    private static IEnumerable<string> OwnProblems(BackhaulOptions o, bool development)
    {
        if (o.Endpoints.Any(string.IsNullOrWhiteSpace)) yield return "Gateway:Backhaul:Endpoints must not hold an empty endpoint (host:port).";
        if (!LinkKey.TryParse(o.SharedKey, development, out _, out var keyError)) yield return $"Gateway:Backhaul:SharedKey (this relay's key, as the core holds it for its RelayId) {keyError}.";
        if (string.IsNullOrWhiteSpace(o.RelayId)) yield return "Gateway:Backhaul:RelayId is required.";
        else if (o.RelayId.Length > Relay.Contracts.Control.RelayHealthReport.MaxRelayIdLength) yield return $"Gateway:Backhaul:RelayId must be at most {Relay.Contracts.Control.RelayHealthReport.MaxRelayIdLength} characters (the core ignores a longer id's health reports); was {o.RelayId.Length}.";
        if (o.Region.Length > Relay.Contracts.Control.ControlCodec.MaxRegionLength) yield return $"Gateway:Backhaul:Region must be at most {Relay.Contracts.Control.ControlCodec.MaxRegionLength} characters; was {o.Region.Length}.";
        if (o.LinksPerEndpoint < 1) yield return $"Gateway:Backhaul:LinksPerEndpoint must be at least 1; was {o.LinksPerEndpoint}.";
        if (o.DuplicateFramesUpTo is < 0 or > 16 * 1024) yield return $"Gateway:Backhaul:DuplicateFramesUpTo must be 0 (off) to 16384 bytes; was {o.DuplicateFramesUpTo}.";
        if (o.DuplicateAboveRtt < TimeSpan.Zero || o.DuplicateAboveRtt > TimeSpan.FromSeconds(10)) yield return $"Gateway:Backhaul:DuplicateAboveRtt must be 0 (always copy) to 10 s; was {o.DuplicateAboveRtt}.";
        if (o.HeartbeatInterval <= TimeSpan.Zero || o.DeadLinkTimeout <= o.HeartbeatInterval) yield return "Gateway:Backhaul:DeadLinkTimeout must be longer than Gateway:Backhaul:HeartbeatInterval (both positive).";
    }
}
