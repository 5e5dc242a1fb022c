using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Relay.Contracts.Control;
using Relay.CoreSim.Backhaul;

namespace Relay.CoreSim.Http;

/// <summary>
/// <c>POST /v1/cache/purge?prefix=/assets/</c> or <c>?tag=widget</c> (issue 18; admin key): a fleet-wide edge cache
/// purge. Sends a <see cref="CachePurgeOrder"/> over the backhaul control channel to every relay with a link up, as the
/// fleet's under-attack order goes; each relay purges its own cache. 202 with the relays it was sent to; 400 for a bad
/// prefix or tag.
/// </summary>
internal static class CachePurgeEndpoint
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost("/v1/cache/purge", Purge).AddEndpointFilter<AdminKeyFilter>();

    private static IResult Purge(HttpContext context, BackhaulService backhaul)
    {
        var order = new CachePurgeOrder(NullIfEmpty(context.Request.Query["prefix"]), NullIfEmpty(context.Request.Query["tag"]));
        if (order.Problem() is { } problem)
        {
            return Results.Json(new JsonObject { ["error"] = problem }, statusCode: StatusCodes.Status400BadRequest);
        }

        var encoded = ControlCodec.Encode(order);
        var sent = backhaul.Listener.Relays().Where(r => r.Links > 0).Select(r => r.RelayId).Where(id => backhaul.Send(id, encoded)).ToList();
        return Results.Json(
            new JsonObject
            {
                ["command"] = encoded.Name,
                ["prefix"] = order.Prefix,
                ["tag"] = order.Tag,
                ["sentTo"] = new JsonArray([.. sent.Select(id => (JsonNode)JsonValue.Create(id))]),
            },
            statusCode: StatusCodes.Status202Accepted);
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
