using Microsoft.Extensions.Options;

namespace Relay.Gateway.Configuration;

/// <summary>Validates <see cref="HealthOptions"/> ("Gateway:Health"); part of <see cref="GatewayOptionsValidator"/>.</summary>
internal sealed class HealthOptionsValidator : IValidateOptions<HealthOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthOptions options) =>
        Problems(options).FirstOrDefault() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;

    /// <summary>Every bad setting, one line each (start-up reports the first; <c>relay check</c> all).</summary>
    internal static IEnumerable<string> Problems(HealthOptions o)
    {
        if (o.EvaluationInterval <= TimeSpan.Zero) yield return $"Gateway:Health:EvaluationInterval must be positive; was {o.EvaluationInterval}.";
        if (o.EnterAfter < 1) yield return $"Gateway:Health:EnterAfter must be at least 1; was {o.EnterAfter}.";
        if (o.ExitAfter < 1) yield return $"Gateway:Health:ExitAfter must be at least 1; was {o.ExitAfter}.";
        if (o.RttSickMs < o.RttDegradedMs) yield return "Gateway:Health:RttSickMs must not be below Gateway:Health:RttDegradedMs.";
        if (o.ThreadPoolQueueSick < o.ThreadPoolQueueDegraded) yield return "Gateway:Health:ThreadPoolQueueSick must not be below Gateway:Health:ThreadPoolQueueDegraded.";
        if (o.Capacity < 1) yield return $"Gateway:Health:Capacity must be at least 1; was {o.Capacity}.";
        if (o.SelfDrainAfter < TimeSpan.Zero) yield return $"Gateway:Health:SelfDrainAfter must be zero (off) or positive; was {o.SelfDrainAfter}.";
        if (o.AgentPort is < -1 or > 65535) yield return $"Gateway:Health:AgentPort must be -1 (off) or 0-65535; was {o.AgentPort}.";
        if (o.DrainBatchSize < 1) yield return $"Gateway:Health:DrainBatchSize must be at least 1; was {o.DrainBatchSize}.";
        if (o.DrainBatchInterval < TimeSpan.Zero) yield return $"Gateway:Health:DrainBatchInterval must not be negative; was {o.DrainBatchInterval}.";
        if (o.DrainDeadline <= TimeSpan.Zero) yield return $"Gateway:Health:DrainDeadline must be positive; was {o.DrainDeadline}.";
        if (o.ReportInterval <= TimeSpan.Zero) yield return $"Gateway:Health:ReportInterval must be positive; was {o.ReportInterval}.";
    }
}
