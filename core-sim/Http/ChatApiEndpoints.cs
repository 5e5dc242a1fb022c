using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Cluster;
using Relay.CoreSim.Sessions;

namespace Relay.CoreSim.Http;

/// <summary>
/// Issue 18: the chat's REST API, with the websocket's token (<c>Authorization: Bearer</c> or <c>?access_token=</c>) and
/// its room rules (<see cref="RoomPolicy"/>: a visitor only its own room, an operator any room of its site).
/// <c>GET /api/rooms/{room}/history?before=&amp;limit=</c> pages a room's history, newest page first;
/// <c>POST /api/rooms/{room}/messages</c> sends <c>{"body": …}</c> to the room's sessions as a websocket message would;
/// <c>GET /api/whoami</c> says which relay and client address core-sim sees.
/// </summary>
internal static class ChatApiEndpoints
{
    public const int DefaultPage = 50;
    public const int MaxPage = 100;
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>The 503's error in cluster mode while the broker does not answer.</summary>
    private const string BrokerUnavailable = "core_unavailable: the cluster's broker did not answer; try again";

    private static IResult Unavailable(HttpContext context)
    {
        context.Response.Headers.RetryAfter = "1";
        return Results.Json(new { error = BrokerUnavailable }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/api/rooms/{room}/history", async (string room, HttpContext context, TokenVerifier verifier, SessionRegistry registry) =>
        {
            if (Authorize(context, verifier, room) is { } refusal)
            {
                return refusal.Result;
            }

            var query = context.Request.Query;
            long? before = null;
            if (query.TryGetValue("before", out var b) && b.ToString().Length > 0)
            {
                if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < 1)
                {
                    return Results.BadRequest(new { error = "before must be a message id (a positive integer)" });
                }

                before = value;
            }

            int limit = DefaultPage;
            if (query.TryGetValue("limit", out var l) && l.ToString().Length > 0 && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxPage))
            {
                return Results.BadRequest(new { error = $"limit must be 1-{MaxPage}" });
            }

            var claims = ClaimsOf(context)!;
            context.Response.Headers.CacheControl = "private, no-store";
            HistoryEntry[] page;
            if (registry.Cluster is { } cluster)
            {
                // Cluster mode: the room's history is in the broker (every node's members write it).
                try
                {
                    page = [.. (await cluster.HistoryPageAsync(claims.Site, room, before, limit).ConfigureAwait(false)).Select(m => new HistoryEntry(m.Id, m.From, m.BodyJson, m.At))];
                }
                catch (BrokerUnavailableException)
                {
                    return Unavailable(context);
                }
            }
            else
            {
                page = registry.History.Page(RoomDirectory.Key(claims.Site, room), before, limit);
            }

            return Results.Json(new
            {
                room,
                messages = page.Select(e => new { id = e.Id, from = e.From, body = JsonDocument.Parse(e.BodyJson).RootElement, at = e.At }),
                next = page.Length == limit && page[0].Id > 1 ? $"/api/rooms/{Uri.EscapeDataString(room)}/history?before={page[0].Id}&limit={limit}" : null,
            });
        });

        app.MapPost("/api/rooms/{room}/messages", async (string room, HttpContext context, TokenVerifier verifier, SessionRegistry registry) =>
        {
            if (Authorize(context, verifier, room) is { } refusal)
            {
                return refusal.Result;
            }

            if (context.Request.ContentLength > MaxBodyBytes)
            {
                return Results.Json(new { error = $"message over {MaxBodyBytes} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = MaxBodyBytes;
            }

            JsonElement body;
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
                if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("body", out var b))
                {
                    return Results.BadRequest(new { error = "send {\"body\": …}" });
                }

                body = b.Clone();
            }
            catch (JsonException)
            {
                return Results.BadRequest(new { error = "malformed JSON" });
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return Results.Json(new { error = $"message over {MaxBodyBytes} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            string bodyJson = body.GetRawText();
            if (bodyJson.Length > MaxBodyBytes)
            {
                return Results.Json(new { error = $"message over {MaxBodyBytes} bytes" }, statusCode: StatusCodes.Status413PayloadTooLarge);
            }

            var claims = ClaimsOf(context)!;
            context.Response.Headers.CacheControl = "no-store";
            long id;
            int delivered;
            try
            {
                (id, delivered) = await registry.PostAsync(claims.Site, room, claims.Subject, bodyJson).ConfigureAwait(false);
            }
            catch (BrokerUnavailableException)
            {
                return Unavailable(context); // cluster mode: nothing was posted (the script runs whole or not at all)
            }

            return Results.Json(new { id, room, from = claims.Subject, delivered }, statusCode: StatusCodes.Status201Created);
        });

        app.MapGet("/api/whoami", (HttpContext context) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            var headers = context.Request.Headers;
            return Results.Json(new
            {
                relayId = RelayForwardedHeaders.RelayOf(context),
                clientAddress = context.Connection.RemoteIpAddress?.ToString(),
                scheme = context.Request.Scheme,
                host = context.Request.Host.Value,
                xForwardedFor = headers["X-Forwarded-For"].ToString(),
                xForwardedProto = headers["X-Forwarded-Proto"].ToString(),
                xForwardedHost = headers["X-Forwarded-Host"].ToString(),
                forwarded = headers["Forwarded"].ToString(),
                protocol = context.Request.Protocol,
            });
        });
    }

    private static TokenClaims? ClaimsOf(HttpContext context) => context.Items[typeof(TokenClaims)] as TokenClaims;

    /// <summary>Null when the token is good and may use <paramref name="room"/> (its claims kept in Items); else the refusal.</summary>
    private static Refusal? Authorize(HttpContext context, TokenVerifier verifier, string room)
    {
        string? token = context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal)
            ? auth["Bearer ".Length..]
            : context.Request.Query["access_token"].ToString();
        var result = verifier.Verify(token);
        if (!result.IsValid)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return new Refusal(Results.Json(new { error = $"token refused: {result.Error}" }, statusCode: StatusCodes.Status401Unauthorized));
        }

        if (room.Length is 0 or > 128 || !RoomPolicy.MayJoin(result.Claims!, room))
        {
            return new Refusal(Results.Json(new { error = $"this token may not use room {room}" }, statusCode: StatusCodes.Status403Forbidden));
        }

        context.Items[typeof(TokenClaims)] = result.Claims;
        return null;
    }

    private sealed record Refusal(IResult Result);
}
