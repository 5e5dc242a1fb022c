using Microsoft.Extensions.Options;

namespace Relay.Gateway.Security;

/// <summary>Validates <see cref="UnderAttackOptions"/> at start: the first bad setting, one line naming it.</summary>
internal sealed class UnderAttackOptionsValidator : IValidateOptions<UnderAttackOptions>
{
    public ValidateOptionsResult Validate(string? name, UnderAttackOptions options) =>
        Problems(options).FirstOrDefault() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    /// <summary>Every bad setting, one line each (start-up reports the first; <c>relay check</c> all).</summary>
    internal static IEnumerable<string> Problems(UnderAttackOptions o)
    {
        const string s = UnderAttackOptions.Section;
        if (o.NewConnectionsPerSecondOn < 0 || o.NewConnectionsPerSecondOff < 0) yield return $"{s}:NewConnectionsPerSecondOn and NewConnectionsPerSecondOff must not be negative.";
        if (o.NewConnectionsPerSecondOn > 0 && o.NewConnectionsPerSecondOff >= o.NewConnectionsPerSecondOn) yield return $"{s}:NewConnectionsPerSecondOff must be below NewConnectionsPerSecondOn ({o.NewConnectionsPerSecondOn}); was {o.NewConnectionsPerSecondOff}.";
        if (o.RefusedPerSecondOn < 0 || o.RefusedPerSecondOff < 0) yield return $"{s}:RefusedPerSecondOn and RefusedPerSecondOff must not be negative.";
        if (o.RefusedPerSecondOn > 0 && o.RefusedPerSecondOff >= o.RefusedPerSecondOn) yield return $"{s}:RefusedPerSecondOff must be below RefusedPerSecondOn ({o.RefusedPerSecondOn}); was {o.RefusedPerSecondOff}.";
        if (o.RefusedPerAddressPerSecond is < 0 or > 1_000_000) yield return $"{s}:RefusedPerAddressPerSecond must be 0 (count every refusal) to 1000000; was {o.RefusedPerAddressPerSecond}.";
        if (o.RequestHeadTimeout < TimeSpan.FromMilliseconds(500) || o.RequestHeadTimeout > TimeSpan.FromMinutes(5)) yield return $"{s}:RequestHeadTimeout must be 500 ms to 5 min; was {o.RequestHeadTimeout}.";
        if (o.OffAfter < TimeSpan.Zero) yield return $"{s}:OffAfter must not be negative; was {o.OffAfter}.";
        if (o.SampleInterval < TimeSpan.FromMilliseconds(100) || o.SampleInterval > TimeSpan.FromMinutes(1)) yield return $"{s}:SampleInterval must be 100 ms to 1 min; was {o.SampleInterval}.";
        if (o.Difficulty is < 1 or > 32) yield return $"{s}:Difficulty must be 1 to 32 bits; was {o.Difficulty}.";
        if (o.ChallengeLifetime < TimeSpan.FromSeconds(1) || o.ChallengeLifetime > TimeSpan.FromHours(1)) yield return $"{s}:ChallengeLifetime must be 1 s to 1 h; was {o.ChallengeLifetime}.";
        if (o.ResumeWindow < TimeSpan.Zero) yield return $"{s}:ResumeWindow must not be negative; was {o.ResumeWindow}.";
        if (o.ReplayCacheSize < 0) yield return $"{s}:ReplayCacheSize must not be negative; was {o.ReplayCacheSize}.";
        if (o.ConnectionsPerSecondPerAddress < 1) yield return $"{s}:ConnectionsPerSecondPerAddress must be at least 1; was {o.ConnectionsPerSecondPerAddress}.";
        if (o.ConnectionBurstPerAddress < 1) yield return $"{s}:ConnectionBurstPerAddress must be at least 1; was {o.ConnectionBurstPerAddress}.";
        if (o.ConnectionsPerSecondPerPrefix < 1) yield return $"{s}:ConnectionsPerSecondPerPrefix must be at least 1; was {o.ConnectionsPerSecondPerPrefix}.";
        if (o.ConnectionBurstPerPrefix < 1) yield return $"{s}:ConnectionBurstPerPrefix must be at least 1; was {o.ConnectionBurstPerPrefix}.";
    }
}
