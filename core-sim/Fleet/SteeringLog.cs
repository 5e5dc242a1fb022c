using System.Net;
using System.Net.Sockets;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;

namespace Relay.CoreSim.Fleet;

/// <summary>
/// The last <see cref="Capacity"/> negotiate decisions core-sim made (issue 17), for GET /fleet's <c>steering</c> and the
/// dashboard: when, the caller's network and region and how it was picked, the relays answered and those left out with
/// why. Negotiate is open to anyone, so the log is a fixed-size ring and keeps no whole client address.
/// </summary>
internal sealed class SteeringLog(TimeProvider time)
{
    /// <summary>Decisions kept; the oldest goes first.</summary>
    public const int Capacity = 100;

    /// <summary>Relay ids listed per decision, answered and left out each.</summary>
    public const int MaxListed = 32;

    private readonly Lock _gate = new();
    private readonly Queue<SteeringDecision> _decisions = new(Capacity);

    /// <summary>Records what <paramref name="answer"/> decided for <paramref name="caller"/>.</summary>
    /// <param name="answer">The negotiate answer.</param>
    /// <param name="caller">The caller's address.</param>
    /// <param name="requestedRegion">The request's <c>?region=</c>, if any.</param>
    /// <param name="file">The regions file, or null.</param>
    /// <param name="states">Every relay the core knows, by state.</param>
    /// <param name="details">The relays negotiate chose from (connected, with a fresh report).</param>
    /// <param name="token">True when the call renewed a token.</param>
    public void Record(NegotiateResponse answer, IPAddress? caller, string? requestedRegion, RegionsFile? file, IReadOnlyDictionary<string, RelayStatus> states, IReadOnlyList<FleetRelay> details, bool token)
    {
        string how;
        string? subnet = null;
        if (!string.IsNullOrEmpty(requestedRegion))
        {
            how = "?region=";
        }
        else if (file is null)
        {
            how = "no regions file";
        }
        else if (caller is not null && file.Map.TryFind(caller, out _, out string matched))
        {
            how = "address";
            subnet = matched;
        }
        else
        {
            how = "default";
        }

        var answered = answer.Relays.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        var regionOf = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (region, relay) in file?.Relays() ?? [])
        {
            regionOf.TryAdd(relay.Id, region.Name);
        }

        foreach (var relay in details)
        {
            regionOf.TryAdd(relay.Id, relay.Region);
        }

        foreach (string id in states.Keys)
        {
            regionOf.TryAdd(id, null);
        }

        var urls = details.ToDictionary(d => d.Id, d => d.Url, StringComparer.Ordinal);
        var leftOut = regionOf.Where(kv => !answered.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).Take(MaxListed)
            .Select(kv => new LeftOutRelay(kv.Key, kv.Value, Why(states.TryGetValue(kv.Key, out var s) ? s : RelayStatus.Unreachable, urls.GetValueOrDefault(kv.Key))))
            .ToList();
        var decision = new SteeringDecision(
            time.GetUtcNow(),
            caller is null ? null : Network(caller),
            answer.Region,
            how,
            subnet,
            answer.Relays.Count > 0 ? answer.Relays[0].Region : null,
            [.. answer.Relays.Take(MaxListed).Select(r => r.Id)],
            leftOut,
            token);
        lock (_gate)
        {
            if (_decisions.Count == Capacity)
            {
                _decisions.Dequeue();
            }

            _decisions.Enqueue(decision);
        }
    }

    /// <summary>The decisions, newest first.</summary>
    public IReadOnlyList<SteeringDecision> Recent()
    {
        lock (_gate)
        {
            return [.. _decisions.Reverse()];
        }
    }

    private static string Why(RelayStatus state, string? url) => state switch
    {
        RelayStatus.Draining => "draining",
        RelayStatus.Sick => "sick",
        RelayStatus.Unknown => "no health report yet",
        RelayStatus.Unreachable => "not connected",
        _ when string.IsNullOrEmpty(url) => "no URL",
        _ => state.ToString().ToLowerInvariant(),
    };

    /// <summary>The caller's /24 (IPv4) or /48 (IPv6): enough to see where users come from, not who they are.</summary>
    private static string Network(IPAddress caller)
    {
        var address = caller.IsIPv4MappedToIPv6 ? caller.MapToIPv4() : caller;
        int prefix = address.AddressFamily == AddressFamily.InterNetwork ? 24 : 48;
        byte[] bytes = address.GetAddressBytes();
        Array.Clear(bytes, prefix / 8, bytes.Length - (prefix / 8));
        return $"{new IPAddress(bytes)}/{prefix}";
    }
}
