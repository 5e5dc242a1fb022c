using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.CoreSim.Backhaul;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Fleet;

/// <summary>
/// The core's steering: tells every relay what the fleet looks like (so a relay never drains
/// itself out as the last healthy one), and orders a drain for a relay that stays sick longer
/// than <see cref="CoreSimOptions.FleetDrainSickAfter"/> while another relay is healthy. Every
/// decision is recorded with its reason and shown in /fleet.
/// </summary>
internal sealed partial class FleetPolicy(FleetRegistry fleet, FleetRegions regions, BackhaulService backhaul, IOptions<CoreSimOptions> options, TimeProvider time, ILogger<FleetPolicy> logger) : BackgroundService
{
    private readonly Dictionary<string, DateTimeOffset> _sickSince = new(StringComparer.Ordinal);
    private readonly HashSet<string> _ordered = new(StringComparer.Ordinal);

    public TimeSpan StaleAfter => options.Value.FleetBroadcastInterval * 5 + TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FleetBroadcastInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    Step();
                }
                catch (Exception ex)
                {
                    Log.StepFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping (or disposed without a stop): not a failure
        }
    }

    /// <summary>One round: broadcast the fleet, then apply the drain policy.</summary>
    internal void Step()
    {
        var states = fleet.States(StaleAfter);
        var view = ControlCodec.Encode(new FleetView(states, fleet.Details(StaleAfter, regions.File), regions.File?.Map.Routes));
        foreach (var relay in states.Keys)
        {
            backhaul.Send(relay, view);
        }

        var now = time.GetUtcNow();
        foreach (var (relay, state) in states)
        {
            if (state != RelayStatus.Sick)
            {
                _sickSince.Remove(relay);
                if (state is RelayStatus.Healthy or RelayStatus.Degraded && _ordered.Remove(relay))
                {
                    fleet.ClearDecision(relay);
                }

                continue;
            }

            var since = _sickSince.TryGetValue(relay, out var s) ? s : _sickSince[relay] = now;
            var sick = now - since;
            if (sick < options.Value.FleetDrainSickAfter || _ordered.Contains(relay))
            {
                continue;
            }

            bool othersHealthy = states.Any(kv => kv.Key != relay && kv.Value is RelayStatus.Healthy or RelayStatus.Degraded);
            if (!othersHealthy)
            {
                fleet.RecordDecision(relay, $"{now:O}: sick for {sick.TotalSeconds:F0} s but no other relay is healthy: not drained");
                continue;
            }

            if (backhaul.Send(relay, ControlCodec.Encode(new DrainOrder(DrainOrderSource.Policy))))
            {
                _ordered.Add(relay);
                string why = $"{now:O}: drain ordered: sick for {sick.TotalSeconds:F0} s";
                fleet.RecordDecision(relay, why);
                Log.DrainOrdered(logger, relay, why);
            }
        }
    }
}
