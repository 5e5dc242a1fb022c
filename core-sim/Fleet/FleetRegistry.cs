using System.Collections.Concurrent;
using Relay.Contracts.Control;
using Relay.CoreSim.Backhaul;

namespace Relay.CoreSim.Fleet;

/// <summary>
/// What the core knows of each relay: its links (from the backhaul listener) and its latest health report.
/// Fleet depends on Backhaul, never the other way: the registry subscribes to the listener's reports.
/// </summary>
internal sealed class FleetRegistry
{
    private readonly ConcurrentDictionary<string, RelayReport> _reports = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _decisions = new(StringComparer.Ordinal);
    private readonly BackhaulService _backhaul;
    private readonly TimeProvider _time;

    public FleetRegistry(BackhaulService backhaul, TimeProvider time)
    {
        _backhaul = backhaul;
        _time = time;
        backhaul.Listener.HealthReportReceived += OnReport;
    }

    /// <summary>
    /// Records a report from the relay whose key opened the link (<paramref name="relayId"/>). One that does not decode,
    /// or that claims another relay id, is ignored (the relay keeps its previous state): a relay reports only for itself.
    /// </summary>
    public void OnReport(string relayId, ReadOnlyMemory<byte> payload)
    {
        if (ControlCodec.TryDecodeReport(payload.Span, out var report) && string.Equals(report.RelayId, relayId, StringComparison.Ordinal))
        {
            _reports[relayId] = new RelayReport(report, _time.GetUtcNow());
        }
    }

    public void RecordDecision(string relayId, string decision) => _decisions[relayId] = decision;

    public void ClearDecision(string relayId) => _decisions.TryRemove(relayId, out _);

    /// <summary>Each relay's state: from its report, "unreachable" when it has no link, "unknown" before its first report.</summary>
    public IReadOnlyDictionary<string, RelayStatus> States(TimeSpan staleAfter)
    {
        var connected = _backhaul.Listener.Relays().Where(r => r.Links > 0).Select(r => r.RelayId).ToHashSet(StringComparer.Ordinal);
        var states = new Dictionary<string, RelayStatus>(StringComparer.Ordinal);
        foreach (var id in connected.Concat(_reports.Keys).Distinct())
        {
            _reports.TryGetValue(id, out var report);
            bool stale = report is null || _time.GetUtcNow() - report.ReceivedAt > staleAfter;
            states[id] = !connected.Contains(id) ? RelayStatus.Unreachable : stale ? RelayStatus.Unknown : report!.Report.State;
        }

        return states;
    }

    /// <summary>
    /// Each connected relay with a fresh report, for negotiate and the fleet view's detail list: its region and URL from the
    /// regions file when it lists the relay, else from its report; weight, sessions and state from the report. A relay of
    /// the regions file that is not connected is not here.
    /// </summary>
    public IReadOnlyList<FleetRelay> Details(TimeSpan staleAfter, Relay.Contracts.Regions.RegionsFile? regions)
    {
        var states = States(staleAfter);
        var details = new List<FleetRelay>(states.Count);
        foreach (var (id, state) in states)
        {
            if (state is RelayStatus.Unreachable or RelayStatus.Unknown || !_reports.TryGetValue(id, out var report))
            {
                continue;
            }

            var listed = regions?.FindRelay(id);
            details.Add(new FleetRelay(
                id,
                listed?.Region.Name ?? report.Report.Region,
                listed?.Relay.Url ?? report.Report.Url,
                report.Report.Weight,
                report.Report.Sessions,
                state));
        }

        return details;
    }

    /// <summary>Every relay the core knows (linked now, or reported once), with its reported region, state and sessions.</summary>
    public IReadOnlyList<FleetMember> Members(TimeSpan staleAfter)
    {
        var states = States(staleAfter);
        var links = _backhaul.Listener.Relays().ToDictionary(r => r.RelayId, r => r.Region, StringComparer.Ordinal);
        return [.. states.Select(kv =>
        {
            _reports.TryGetValue(kv.Key, out var report);
            string region = links.TryGetValue(kv.Key, out var linked) && !string.IsNullOrEmpty(linked) ? linked : report?.Report.Region ?? string.Empty;
            return new FleetMember(kv.Key, region, kv.Value, kv.Value == RelayStatus.Unreachable ? 0 : report?.Report.Sessions ?? 0);
        })];
    }

    /// <summary>Sessions per region (from the relays' reports), for GET /fleet.</summary>
    public IReadOnlyDictionary<string, long> SessionsByRegion()
    {
        var regions = _backhaul.Listener.Relays().ToDictionary(r => r.RelayId, r => r.Region, StringComparer.Ordinal);
        return _reports
            .GroupBy(kv => regions.TryGetValue(kv.Key, out var region) && region.Length > 0 ? region : "unknown", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value.Report.Sessions), StringComparer.Ordinal);
    }

    /// <summary>The fleet view for GET /fleet.</summary>
    public object Describe(TimeSpan staleAfter)
    {
        var states = States(staleAfter);
        var links = _backhaul.Listener.Relays().ToDictionary(r => r.RelayId, StringComparer.Ordinal);
        return states.Keys.Order(StringComparer.Ordinal).Select(id =>
        {
            links.TryGetValue(id, out var link);
            _reports.TryGetValue(id, out var report);
            _decisions.TryGetValue(id, out var decision);
            return new
            {
                relayId = id,
                region = link?.Region ?? report?.Report.Region,
                state = states[id],
                reasons = report?.Report.Reasons ?? [],
                sessions = report?.Report.Sessions ?? 0,
                links = link?.Links ?? 0,
                streams = link?.Streams ?? 0,
                rttMs = link?.RttMs,
                reportedAt = report?.ReceivedAt,
                policy = decision,
                report = report?.Report,
            };
        }).ToList();
    }
}
