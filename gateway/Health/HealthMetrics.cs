using System.Diagnostics.Metrics;
using Relay.Gateway.Metrics;

namespace Relay.Gateway.Health;

/// <summary>
/// The health model as gauges on the gateway's meter: <c>relay_gateway_state{state=…}</c> (1 for the current state,
/// 0 for the others), <c>relay_gateway_agent_weight</c> and <c>relay_gateway_signal_level{signal=…}</c> (each health
/// signal's level after hysteresis: 0 healthy, 1 degraded, 2 sick; what the alerting rules in deploy/prometheus read),
/// read from <see cref="HealthMonitor.Current"/> at each scrape.
/// </summary>
internal sealed class HealthMetrics
{
    private static readonly RelayState[] s_states = Enum.GetValues<RelayState>();
    private static readonly KeyValuePair<string, object?>[] s_stateTags =
        [.. s_states.Select(s => new KeyValuePair<string, object?>("state", s.ToString().ToLowerInvariant()))];

    public HealthMetrics(IMeterFactory meterFactory, HealthMonitor monitor)
    {
        var meter = meterFactory.Create(new MeterOptions(GatewayMetrics.MeterName) { Version = "1.0" });
        meter.CreateObservableGauge("relay.gateway.state", () => ObserveState(monitor.Current.State), description: "Relay state (1 for the current one).");
        meter.CreateObservableGauge("relay.gateway.agent_weight", () => monitor.Current.Weight, description: "HAProxy agent weight in percent.");
        meter.CreateObservableGauge("relay.gateway.signal_level", () => ObserveSignals(monitor.Current), description: "Each health signal's level: 0 healthy, 1 degraded, 2 sick.");
    }

    private static IEnumerable<Measurement<int>> ObserveSignals(HealthSnapshot snapshot) =>
        snapshot.Signals.Select(kv => new Measurement<int>((int)kv.Value.Level, new KeyValuePair<string, object?>("signal", kv.Key)));

    private static IEnumerable<Measurement<int>> ObserveState(RelayState current)
    {
        for (int i = 0; i < s_states.Length; i++)
        {
            yield return new Measurement<int>(s_states[i] == current ? 1 : 0, s_stateTags[i]);
        }
    }
}
