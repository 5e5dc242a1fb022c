using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.Contracts.Regions;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.Health;

namespace Relay.Gateway.Negotiate;

/// <summary>
/// <c>GET /v1/negotiate[?region=]</c> on the relay (issue 17, docs/PROTOCOL.md): the answer the core would give, built
/// from the last fleet view the core sent (its relays' details and its regions' routing), for the client address the
/// gateway resolves (X-Forwarded-For only from <c>Gateway:TrustedProxies</c>). No token (only the core mints), also on
/// <c>POST</c>; <c>tokenUrl</c> is <see cref="NegotiateOptions.TokenUrl"/>. 503 before the first fleet view. The relay's own
/// entry is its current state, not the view's: the view says what the core heard up to a report interval and a
/// broadcast ago, and nothing at all once this relay's backhaul is down, so a relay that is draining or sick does not
/// offer itself while another is healthy (sick, it is listed with the others when none is: docs/PROTOCOL.md).
/// </summary>
internal static class NegotiateEndpoints
{
    private static readonly ConditionalWeakTableCache s_maps = new();

    public static void MapRelayNegotiate(this WebApplication app)
    {
        // POST too (an SDK asking for a fresh token): the same answer, whose tokenUrl says where the core renews it.
        app.MapMethods("/v1/negotiate", ["GET", "POST"], (HttpContext context, DrainController drain, HealthMonitor health, BackhaulService backhaul, IOptions<GatewayOptions> options) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.AccessControlAllowOrigin = "*";
            if (drain.Fleet is not { } fleet)
            {
                return Results.Json(new { error = "the fleet view from the core is not known yet" }, statusCode: StatusCodes.Status503ServiceUnavailable);
            }

            var o = options.Value;
            if (!Negotiator.TryAnswer(WithSelf(fleet.Details ?? [], o.Backhaul.RelayId, health.Current, backhaul.Pool.LinksUp > 0), s_maps.Get(fleet), context.Connection.RemoteIpAddress, context.Request.Query["region"].ToString(), o.Backhaul.Region, out var answer, out string? error))
            {
                return Results.BadRequest(new { error });
            }

            return Results.Text((answer with { TokenUrl = o.Negotiate.TokenUrl }).ToJson(), "application/json");
        });
    }

    /// <summary>
    /// The view's relays with this relay as it is now: ready, at its current state and weight; sick with a backhaul link
    /// up, as sick (the negotiator lists sick relays only when none is healthy: it still takes sessions); draining, or
    /// with no link to the core (it can open no session), left out.
    /// </summary>
    private static IEnumerable<FleetRelay> WithSelf(IReadOnlyList<FleetRelay> relays, string selfId, HealthSnapshot self, bool linkUp)
    {
        foreach (var relay in relays)
        {
            if (!string.Equals(relay.Id, selfId, StringComparison.Ordinal))
            {
                yield return relay;
            }
            else if (self.Ready)
            {
                yield return relay with { State = self.State == RelayState.Degraded ? RelayStatus.Degraded : RelayStatus.Healthy, Weight = self.Weight };
            }
            else if (self.State == RelayState.Sick && linkUp)
            {
                yield return relay with { State = RelayStatus.Sick, Weight = self.Weight };
            }
        }
    }

    /// <summary>The region map of a fleet view, built once per view (a view arrives each second).</summary>
    private sealed class ConditionalWeakTableCache
    {
        private readonly System.Runtime.CompilerServices.ConditionalWeakTable<FleetView, RegionMap> _maps = [];

        public RegionMap? Get(FleetView fleet) => fleet.Regions is { Count: > 0 } routes ? _maps.GetValue(fleet, _ => new RegionMap(routes)) : null;
    }
}
