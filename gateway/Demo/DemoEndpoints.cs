using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Relay.Gateway.Configuration;

namespace Relay.Gateway.Demo;

/// <summary>
/// The development demo chat widget: GET / (visitor and operator panes), GET /relay-client.global.js (the JS SDK),
/// POST /demo/token (a token proxy to core-sim's POST /v1/tokens for visitor tokens only, same-origin: no CORS, so the
/// page needs no core-sim URL and no other site can mint through it), and CORS headers on GET /status so a page can ask
/// any relay which relay it is on. Mapped only when Gateway:DemoWidget is true (default: true in the Development
/// environment, false otherwise). The proxy mints visitor tokens for anyone who can reach the gateway (core-sim answers
/// it only in Development); operator tokens come from core-sim with its admin key.
/// </summary>
internal static class DemoEndpoints
{
    private static readonly HttpClient s_http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Maps the widget; <see cref="GatewayOptions.DemoTokenUrl"/> is validated at start.</summary>
    public static void MapDemoWidget(this WebApplication app, GatewayOptions options)
    {
        var tokenUri = new Uri(options.DemoTokenUrl, UriKind.Absolute);
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.Equals("/status", StringComparison.Ordinal))
            {
                context.Response.Headers.AccessControlAllowOrigin = "*";
            }

            await next(context).ConfigureAwait(false);
        });

        app.MapGet("/", () => Results.Content(DemoPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/relay-client.global.js", () => Results.Content(RelayClientScript.Global, "text/javascript; charset=utf-8"));
        app.MapPost("/demo/token", (Func<HttpContext, Task<IResult>>)(context => ProxyTokenAsync(context, tokenUri)));
    }

    private static async Task<IResult> ProxyTokenAsync(HttpContext context, Uri tokenUri)
    {
        JsonNode? request;
        try
        {
            request = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            return Results.BadRequest("body must be JSON: {\"sub\",\"role\",\"site\"}");
        }

        string? sub = request?["sub"]?.GetValueKind() == JsonValueKind.String ? (string?)request["sub"] : null;
        string? role = request?["role"]?.GetValueKind() == JsonValueKind.String ? (string?)request["role"] : null;
        string? site = request?["site"]?.GetValueKind() == JsonValueKind.String ? (string?)request["site"] : "demo";
        if (role is "operator")
        {
            return Results.Text("the demo token proxy mints visitor tokens only; an operator token comes from core-sim's POST /v1/tokens with its admin key\n", statusCode: StatusCodes.Status403Forbidden);
        }

        if (sub is not { Length: > 0 and <= 64 } || site is not { Length: > 0 and <= 64 } || role is not "visitor")
        {
            return Results.BadRequest("sub and site: 1-64 characters; role: visitor");
        }

        string body = new JsonObject { ["sub"] = sub, ["site"] = site, ["role"] = role }.ToJsonString();
        try
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await s_http.PostAsync(tokenUri, content, context.RequestAborted).ConfigureAwait(false);
            string text = await response.Content.ReadAsStringAsync(context.RequestAborted).ConfigureAwait(false);
            return Results.Content(text, "application/json", Encoding.UTF8, (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return Results.Content($"token service {tokenUri} unreachable: {e.Message}", "text/plain", Encoding.UTF8, StatusCodes.Status502BadGateway);
        }
    }
}
