using System.Diagnostics.Metrics;

namespace Relay.Gateway.Security;

/// <summary>
/// Under Attack mode's instruments on meter <c>Relay.Gateway</c> from the host's <see cref="IMeterFactory"/>:
/// <c>relay.gateway.under_attack</c> (1 while on) and <c>relay.gateway.admission_refused</c> by <c>reason</c>
/// (scraped as <c>relay_gateway_under_attack</c> and <c>relay_gateway_admission_refused_total{reason}</c>). The
/// counts live in <see cref="UnderAttackMode"/>, which /status reads too.
/// </summary>
internal sealed class UnderAttackMetrics
{
    private readonly UnderAttackMode _mode;

    public UnderAttackMetrics(IMeterFactory meterFactory, UnderAttackMode mode)
    {
        _mode = mode;
        var meter = meterFactory.Create(new MeterOptions(Metrics.GatewayMetrics.MeterName) { Version = "1.0" });
        meter.CreateObservableGauge("relay.gateway.under_attack", () => mode.IsOn ? 1 : 0, description: "1 while Under Attack mode asks new sessions for proof of work.");
        meter.CreateObservableCounter<long>(
            "relay.gateway.admission_refused",
            () => mode.Refusals().Select(kv => new Measurement<long>(kv.Value, new KeyValuePair<string, object?>("reason", kv.Key))),
            description: "Admissions refused by Under Attack mode and the connection-rate limits, by reason.");
    }

    /// <summary>Counts one refusal of <paramref name="client"/> (null: unknown).</summary>
    public void Refused(string reason, System.Net.IPAddress? client = null) => _mode.Refused(reason, client);

    /// <summary>Refusals so far, by reason.</summary>
    public IReadOnlyDictionary<string, long> Refusals() => _mode.Refusals();
}
