using System.Collections.Concurrent;
using System.Text.Json;
using Relay.CoreSim.Backhaul;

namespace Relay.CoreSim.Fleet;

/// <summary>What the core knows of each relay: its links (from the listener) and its latest health report.</summary>
internal sealed class FleetRegistry(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, RelayReport> _reports = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _decisions = new(StringComparer.Ordinal);

    /// <summary>Records a report; bad JSON is ignored (the relay keeps its previous state).</summary>
    public void OnReport(string relayId, ReadOnlyMemory<byte> payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            string state = root.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString()! : "unknown";
            var reasons = root.TryGetProperty("reasons", out var r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : [];
            long sessions = root.TryGetProperty("sessions", out var n) && n.TryGetInt64(out long v) ? v : 0;
            _reports[relayId] = new RelayReport(state, reasons, sessions, root.Clone(), time.GetUtcNow());
        }
        catch (JsonException)
        {
        }
    }

    public void RecordDecision(string relayId, string decision) => _decisions[relayId] = decision;

    public void ClearDecision(string relayId) => _decisions.TryRemove(relayId, out _);

    /// <summary>Each relay's state: from its report, "unreachable" when it has no link, "unknown" before its first report.</summary>
    public IReadOnlyDictionary<string, string> States(BackhaulService backhaul, TimeSpan staleAfter)
    {
        var connected = backhaul.Listener.Relays().Where(r => r.Links > 0).Select(r => r.RelayId).ToHashSet(StringComparer.Ordinal);
        var states = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in connected.Concat(_reports.Keys).Distinct())
        {
            _reports.TryGetValue(id, out var report);
            bool stale = report is null || time.GetUtcNow() - report.ReceivedAt > staleAfter;
            states[id] = !connected.Contains(id) ? "unreachable" : stale ? "unknown" : report!.State;
        }

        return states;
    }

    /// <summary>Sessions per region (from the relays' reports), for GET /fleet.</summary>
    public IReadOnlyDictionary<string, long> SessionsByRegion(BackhaulService backhaul)
    {
        var regions = backhaul.Listener.Relays().ToDictionary(r => r.RelayId, r => r.Region, StringComparer.Ordinal);
        return _reports
            .GroupBy(kv => regions.TryGetValue(kv.Key, out var region) && region.Length > 0 ? region : "unknown", StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value.Sessions), StringComparer.Ordinal);
    }

    /// <summary>The fleet view for GET /fleet.</summary>
    public object Describe(BackhaulService backhaul, TimeSpan staleAfter)
    {
        var states = States(backhaul, staleAfter);
        var links = backhaul.Listener.Relays().ToDictionary(r => r.RelayId, StringComparer.Ordinal);
        return states.Keys.Order(StringComparer.Ordinal).Select(id =>
        {
            links.TryGetValue(id, out var link);
            _reports.TryGetValue(id, out var report);
            _decisions.TryGetValue(id, out var decision);
            return new
            {
                relayId = id,
                region = link?.Region ?? (report?.Report.TryGetProperty("region", out var reg) == true ? reg.GetString() : null),
                state = states[id],
                reasons = report?.Reasons ?? [],
                sessions = report?.Sessions ?? 0,
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
