using Microsoft.Extensions.Options;
using Relay.Tunnel.Links;

namespace Relay.Gateway.Configuration;

/// <summary>Validates <see cref="BackhaulOptions"/> ("Gateway:Backhaul"); part of <see cref="GatewayOptionsValidator"/>.</summary>
/// <param name="development">True in the Development environment: a development key is accepted.</param>
internal sealed class BackhaulOptionsValidator(bool development = false) : IValidateOptions<BackhaulOptions>
{
    /// <summary>The settings <see cref="BackhaulOptions.ToPoolOptions"/> passes to the tunnel, in the order it checks them, grouped where one rule reads two.</summary>
    private static readonly (string[] Names, Action<BackhaulOptions, BackhaulOptions> Copy)[] s_tunnelSettings =
    [
        ([nameof(BackhaulOptions.RelayId)], (from, to) => to.RelayId = from.RelayId),
        ([nameof(BackhaulOptions.Endpoints)], (from, to) => to.Endpoints = from.Endpoints),
        ([nameof(BackhaulOptions.LinksPerEndpoint)], (from, to) => to.LinksPerEndpoint = from.LinksPerEndpoint),
        ([nameof(BackhaulOptions.MaxMessageSize)], (from, to) => to.MaxMessageSize = from.MaxMessageSize),
        ([nameof(BackhaulOptions.HeartbeatInterval), nameof(BackhaulOptions.DeadLinkTimeout)], (from, to) => (to.HeartbeatInterval, to.DeadLinkTimeout) = (from.HeartbeatInterval, from.DeadLinkTimeout)),
        ([nameof(BackhaulOptions.DuplicateFramesUpTo)], (from, to) => to.DuplicateFramesUpTo = from.DuplicateFramesUpTo),
        ([nameof(BackhaulOptions.DuplicateAboveRtt)], (from, to) => to.DuplicateAboveRtt = from.DuplicateAboveRtt),
    ];

    public ValidateOptionsResult Validate(string? name, BackhaulOptions options) =>
        Problems(options, development).FirstOrDefault() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    /// <summary>
    /// Every bad setting, one line each (start-up reports the first; <c>relay check</c> all). Then the tunnel's own rules
    /// for the link pool these settings make, which stop at the first refusal: each group of <see cref="s_tunnelSettings"/>
    /// alone on valid defaults, so every group it refuses is named once (a setting already named above is not named
    /// again); and when nothing was found, the whole, so nothing the tunnel refuses gets past start-up.
    /// </summary>
    internal static IEnumerable<string> Problems(BackhaulOptions o, bool development)
    {
        var own = OwnProblems(o, development).ToList();
        var problems = new List<string>(own);
        foreach (var (names, copy) in s_tunnelSettings)
        {
            if (names.Any(name => own.Any(p => Names(p, name))))
            {
                continue;
            }

            var alone = new BackhaulOptions { RelayId = "check", SharedKey = LinkKey.DevelopmentKey };
            copy(o, alone);
            if (TunnelProblem(alone) is { } problem)
            {
                problems.Add(problem);
            }
        }

        if (problems.Count == 0 && TunnelProblem(o) is { } whole)
        {
            problems.Add(whole);
        }

        return problems;
    }

    /// <summary>True when <paramref name="problem"/> names Gateway:Backhaul:<paramref name="setting"/> (not a longer name).</summary>
    private static bool Names(string problem, string setting)
    {
        string key = "Gateway:Backhaul:" + setting;
        for (int at = problem.IndexOf(key, StringComparison.Ordinal); at >= 0; at = problem.IndexOf(key, at + 1, StringComparison.Ordinal))
        {
            int end = at + key.Length;
            if (end == problem.Length || !char.IsLetterOrDigit(problem[end]))
            {
                return true;
            }
        }

        return false;
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
