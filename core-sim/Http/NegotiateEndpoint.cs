using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Relay.Contracts.Regions;
using Relay.CoreSim.Fleet;
using Relay.CoreSim.Tokens;

namespace Relay.CoreSim.Http;

/// <summary>
/// <c>GET /v1/negotiate[?region=]</c>: the caller's region and the healthy relays best first (docs/PROTOCOL.md), from the
/// fleet the core sees and its regions file; the caller is the connection's remote address (core-sim has no trusted
/// proxies). Each answer is recorded in the <see cref="SteeringLog"/> (GET /fleet's <c>steering</c>). <c>POST</c> with <c>Authorization: Bearer &lt;token&gt;</c> adds a fresh token (<see cref="TokenRefresher"/>).
/// Open to any origin (CORS): it reveals nothing a relay does not, and a refresh needs a token.
/// </summary>
internal static class NegotiateEndpoint
{
    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/negotiate", (HttpContext context, FleetRegistry fleet, FleetPolicy policy, FleetRegions regions, SteeringLog steering) =>
            Answer(context, fleet, policy, regions, steering, null));
        app.MapPost("/v1/negotiate", (HttpContext context, FleetRegistry fleet, FleetPolicy policy, FleetRegions regions, SteeringLog steering, TokenRefresher refresher) =>
        {
            string header = context.Request.Headers.Authorization.ToString();
            string? token = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..].Trim() : null;
            if (!refresher.TryRefresh(token, out string fresh, out _, out string? error))
            {
                AllowAnyOrigin(context);
                return AdminKey.Challenge(context, $"no fresh token: {error}");
            }

            return Answer(context, fleet, policy, regions, steering, fresh);
        });
        app.MapMethods("/v1/negotiate", ["OPTIONS"], (HttpContext context) =>
        {
            AllowAnyOrigin(context);
            context.Response.Headers.AccessControlAllowMethods = "GET, POST";
            context.Response.Headers.AccessControlAllowHeaders = "Authorization";
            return Results.NoContent();
        });
    }

    private static IResult Answer(HttpContext context, FleetRegistry fleet, FleetPolicy policy, FleetRegions regions, SteeringLog steering, string? token)
    {
        AllowAnyOrigin(context);
        context.Response.Headers.CacheControl = "no-store";
        var file = regions.File;
        var states = fleet.States(policy.StaleAfter);
        var details = fleet.Details(policy.StaleAfter, file);
        var caller = context.Connection.RemoteIpAddress;
        string requested = context.Request.Query["region"].ToString();
        if (!Negotiator.TryAnswer(details, file?.Map, caller, requested, null, out var answer, out string? error))
        {
            return Results.BadRequest(new { error });
        }

        steering.Record(answer, caller, requested, file, states, details, token is not null); // GET /fleet's steering decisions

        return Results.Text((answer with { Token = token }).ToJson(), "application/json");
    }

    private static void AllowAnyOrigin(HttpContext context) => context.Response.Headers.AccessControlAllowOrigin = "*";
}
