using Microsoft.Extensions.Options;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Tunnel.Diagnostics;

namespace Relay.Gateway.Health;

/// <summary>Backhaul: links up, link RTT from PING/PONG, re-attach rate.</summary>
internal sealed class BackhaulSignal(BackhaulService backhaul, IOptions<GatewayOptions> options, TimeProvider time) : IHealthSignal
{
    private readonly HealthOptions _health = options.Value.Health;
    private readonly int _expected = options.Value.Backhaul.Endpoints.Length * options.Value.Backhaul.LinksPerEndpoint;
    private long _lastReattaches = backhaul.Pool.Counters.Reattaches;
    private long _lastTicks = time.GetTimestamp();

    public string Name => "backhaul";

    public HealthReading Read()
    {
        var links = backhaul.Pool.Links();
        int up = backhaul.Pool.LinksUp;
        var rtts = links.Where(l => l.Up && l.RttMs is not null).Select(l => l.RttMs!.Value).ToList();
        double? rtt = rtts.Count > 0 ? rtts.Max() : null;
        long now = time.GetTimestamp();
        long reattaches = backhaul.Pool.Counters.Reattaches;
        double seconds = Math.Max(time.GetElapsedTime(_lastTicks, now).TotalSeconds, 0.001);
        double reattachRate = (reattaches - _lastReattaches) / seconds;
        _lastReattaches = reattaches;
        _lastTicks = now;

        var values = new Dictionary<string, object?>
        {
            ["linksUp"] = up,
            ["linksExpected"] = _expected,
            ["rttMs"] = rtt is null ? null : Math.Round(rtt.Value, 2),
            ["reattachesPerSecond"] = Math.Round(reattachRate, 2),
            ["streams"] = backhaul.Pool.StreamCount,
        };
        if (up == 0)
        {
            return new HealthReading(HealthLevel.Sick, "backhaul lost: no link to the core is up", values);
        }

        if (rtt > _health.RttSickMs)
        {
            return new HealthReading(HealthLevel.Sick, $"backhaul slow: link RTT {rtt:F0} ms", values);
        }

        if (rtt > _health.RttDegradedMs)
        {
            return new HealthReading(HealthLevel.Degraded, $"backhaul slow: link RTT {rtt:F0} ms", values);
        }

        if (reattachRate > _health.ReattachesPerSecondDegraded)
        {
            return new HealthReading(HealthLevel.Degraded, $"backhaul flapping: {reattachRate:F0} stream re-attaches/s", values);
        }

        if (up < _expected)
        {
            return new HealthReading(HealthLevel.Degraded, $"backhaul: {up} of {_expected} links up", values);
        }

        return HealthReading.Healthy(values);
    }
}
