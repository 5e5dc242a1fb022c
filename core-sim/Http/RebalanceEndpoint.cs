using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;
using Relay.CoreSim.Backhaul;
using Relay.CoreSim.Fleet;
using Relay.CoreSim.Sessions;

namespace Relay.CoreSim.Http;

/// <summary>
/// <c>POST /v1/regions/{region}/rebalance</c> (issue 17; admin key): a region that came back takes new sessions by itself
/// (negotiate, DNS), while its users who failed over stay where they are; this sends them home. From the client address of
/// every relayed session the core holds, it finds the relays outside the region holding sessions of the region's users and
/// sends each a <see cref="RebalanceOrder"/>: the relay closes those sessions (only those) with 4001 in batches, like a
/// drain, without draining itself, and the clients reconnect through negotiate, which sends them home. Refused (409)
/// without a regions file (no home regions) and while the region has no healthy relay (they would come straight back);
/// 404 for a region the file does not name.
/// </summary>
internal static partial class RebalanceEndpoint
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/regions/{region}/rebalance", Rebalance).AddEndpointFilter<AdminKeyFilter>();

    private static IResult Rebalance(string region, FleetRegistry fleet, FleetPolicy policy, FleetRegions regions, SessionRegistry sessions, BackhaulService backhaul, ILoggerFactory loggers)
    {
        var file = regions.File;
        if (file is null)
        {
            return Error(StatusCodes.Status409Conflict, "no regions file (CoreSim:RegionsFile): the users' home regions are unknown");
        }

        if (region.Length > Negotiator.MaxRegionLength || file.Find(region) is null)
        {
            string shown = region.Length > Negotiator.MaxRegionLength ? region[..Negotiator.MaxRegionLength] + "…" : region;
            return Error(StatusCodes.Status404NotFound, $"unknown region '{shown}'; known: {string.Join(", ", file.Map.Names)}");
        }

        var members = fleet.Members(policy.StaleAfter);
        var clients = sessions.RelayedClients().ToList();
        var view = RegionsView.Describe(members, file, clients).First(r => r.Name == region);
        if (!view.Ready)
        {
            return Error(StatusCodes.Status409Conflict, $"region {region} has no healthy relay: its users would be sent straight back");
        }

        var away = RegionsView.Away(members, file, clients).GetValueOrDefault(region) ?? [];
        var order = ControlCodec.Encode(new RebalanceOrder(region));
        var sent = new JsonArray();
        var notSent = new JsonArray();
        foreach (var (relayId, count) in away.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var entry = new JsonObject { ["relayId"] = relayId, ["sessions"] = count };
            if (backhaul.Send(relayId, order))
            {
                sent.Add(entry);
            }
            else
            {
                entry["error"] = "relay not connected (no open link)";
                notSent.Add(entry);
            }
        }

        int moving = sent.Sum(e => (int)e!["sessions"]!);
        Log.RebalanceOrdered(loggers.CreateLogger(typeof(RebalanceEndpoint).FullName!), region, moving, sent.Count);
        return Results.Json(new JsonObject
        {
            ["region"] = region,
            ["command"] = ControlCodec.RebalanceCommand,
            ["sentTo"] = sent,
            ["notSent"] = notSent,
            ["message"] = sent.Count == 0 && notSent.Count == 0
                ? $"no sessions of {region}'s users on other regions' relays"
                : $"{moving} sessions of {region}'s users on {sent.Count} relays asked to go home",
        }, statusCode: StatusCodes.Status202Accepted);
    }

    private static IResult Error(int status, string error) => Results.Json(new JsonObject { ["error"] = error }, statusCode: status);
}
