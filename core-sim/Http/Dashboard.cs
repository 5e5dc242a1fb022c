using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.Contracts.Control;
using Relay.CoreSim.Backhaul;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Http;

/// <summary>
/// The operators' fleet dashboard and what it needs:
/// GET / (the page), GET /v1/fleet/stream (server-sent events: the GET /fleet document every 500 ms),
/// POST /v1/relays/{relayId}/drain and /undrain (a "drain" / "undrain" command to the relay over its backhaul link;
/// admin key required), POST /v1/relays/{relayId}/under-attack/on and /off (an "under-attack" order: the relay asks
/// new sessions for proof of work; admin key required), POST /v1/fleet/under-attack/on and /off (the same order to
/// every connected relay),
/// GET /v1/load/latest (the newest load-generator result.json + summary.md).
/// </summary>
internal static class Dashboard
{
    /// <summary>How often the fleet stream sends the fleet view.</summary>
    public static readonly TimeSpan StreamInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>A stream ends after this long (EventSource reconnects by itself), so no request runs forever.</summary>
    public static readonly TimeSpan StreamLifetime = TimeSpan.FromMinutes(10);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Content(DashboardPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/v1/fleet/stream", StreamFleetAsync);
        var commands = app.MapGroup("/v1/relays").AddEndpointFilter<AdminKeyFilter>(); // the page sends the admin key it asked for
        commands.MapPost("/{relayId}/drain", (string relayId, BackhaulService backhaul) => Command(backhaul, relayId, new DrainOrder(DrainOrderSource.Operator)));
        commands.MapPost("/{relayId}/undrain", (string relayId, BackhaulService backhaul) => Command(backhaul, relayId, new UndrainOrder()));
        commands.MapPost("/{relayId}/under-attack/on", (string relayId, BackhaulService backhaul) => Command(backhaul, relayId, new UnderAttackOrder(true)));
        commands.MapPost("/{relayId}/under-attack/off", (string relayId, BackhaulService backhaul) => Command(backhaul, relayId, new UnderAttackOrder(false)));
        // The fleet policy's word to every relay at once (an operator's call, e.g. an attack on the whole region).
        var fleet = app.MapGroup("/v1/fleet").AddEndpointFilter<AdminKeyFilter>();
        fleet.MapPost("/under-attack/on", (BackhaulService backhaul) => Broadcast(backhaul, new UnderAttackOrder(true)));
        fleet.MapPost("/under-attack/off", (BackhaulService backhaul) => Broadcast(backhaul, new UnderAttackOrder(false)));
        app.MapGet("/v1/load/latest", (IOptions<CoreSimOptions> options) => LatestLoadReport(options.Value));
    }

    private static IResult Command(BackhaulService backhaul, string relayId, CoreOrder order)
    {
        var encoded = ControlCodec.Encode(order);
        string command = encoded.Name;
        bool sent = backhaul.Send(relayId, encoded);
        return sent
            ? Results.Json(new JsonObject { ["relayId"] = relayId, ["command"] = command, ["sent"] = true }, statusCode: StatusCodes.Status202Accepted)
            : Results.Json(new JsonObject { ["relayId"] = relayId, ["command"] = command, ["sent"] = false, ["error"] = "relay not connected (no open link)" }, statusCode: StatusCodes.Status404NotFound);
    }

    private static IResult Broadcast(BackhaulService backhaul, CoreOrder order)
    {
        var encoded = ControlCodec.Encode(order);
        var sent = backhaul.Listener.Relays().Where(r => r.Links > 0).Select(r => r.RelayId).Where(id => backhaul.Send(id, encoded)).ToList();
        return Results.Json(new JsonObject { ["command"] = encoded.Name, ["sentTo"] = new JsonArray(sent.Select(id => (JsonNode)JsonValue.Create(id)).ToArray()) }, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Server-sent events: each event is exactly what GET /fleet returns (<see cref="FleetView"/>, shared by all streams).</summary>
    private static async Task StreamFleetAsync(HttpContext context, FleetView view, FleetSnapshots snapshots)
    {
        if (!snapshots.TryEnter())
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "5";
            await context.Response.WriteAsync("too many fleet streams open (CoreSim:FleetStreamMaxClients); GET /fleet answers at once\n", context.RequestAborted).ConfigureAwait(false);
            return;
        }

        try
        {
            await SendFleetAsync(context, view, snapshots).ConfigureAwait(false);
        }
        finally
        {
            snapshots.Leave();
        }
    }

    private static async Task SendFleetAsync(HttpContext context, FleetView view, FleetSnapshots snapshots)
    {
        context.Response.Headers.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        var ct = context.RequestAborted;
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(ct);
        lifetime.CancelAfter(StreamLifetime);
        await context.Response.WriteAsync("retry: 1000\n\n", ct).ConfigureAwait(false);
        using var timer = new PeriodicTimer(StreamInterval);
        try
        {
            do
            {
                string json = await snapshots.GetAsync(view.RenderAsync, lifetime.Token).ConfigureAwait(false); // one line: compact JSON
                await context.Response.WriteAsync($"event: fleet\ndata: {json}\n\n", lifetime.Token).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(lifetime.Token).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(lifetime.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // client gone, or the stream's lifetime is over: EventSource reconnects
        }
    }

    /// <summary>
    /// The newest result.json (by modification time) in CoreSim:LoadReportsPath (default: artifacts/load, then loadgen-results,
    /// relative to the working directory), looking in the folder itself and one level of subfolders (one per run). The
    /// endpoint is open (the dashboard reads it), so it names a folder by what it is (<c>LoadReportsPath</c>, or the
    /// default's relative name) and the report within it, never the server's own paths.
    /// </summary>
    private static IResult LatestLoadReport(CoreSimOptions options)
    {
        (string Label, string Folder)[] roots = options.LoadReportsPath is { Length: > 0 } configured
            ? [("LoadReportsPath", configured)]
            : [("artifacts/load", Path.Combine("artifacts", "load")), ("loadgen-results", "loadgen-results")];
        var candidates = new List<(FileInfo File, string Shown)>();
        foreach (var (label, folder) in roots)
        {
            var dir = new DirectoryInfo(Path.GetFullPath(folder));
            if (!dir.Exists)
            {
                continue;
            }

            candidates.AddRange(dir.EnumerateFiles("result.json", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 1, IgnoreInaccessible = true })
                .Select(f => (f, label + "/" + Path.GetRelativePath(dir.FullName, f.FullName).Replace('\\', '/'))));
        }

        var (newest, shown) = candidates.OrderByDescending(c => c.File.LastWriteTimeUtc).FirstOrDefault();
        if (newest is null)
        {
            return Results.Json(new JsonObject
            {
                ["error"] = "no load-generator report found",
                ["searched"] = new JsonArray(roots.Select(r => (JsonNode)JsonValue.Create(r.Label)).ToArray()),
            }, statusCode: StatusCodes.Status404NotFound);
        }

        JsonNode? result;
        try
        {
            result = JsonNode.Parse(File.ReadAllText(newest.FullName));
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            return Results.Json(new JsonObject { ["error"] = $"cannot read {shown}: {(e is JsonException ? e.Message : e.GetType().Name)}" }, statusCode: StatusCodes.Status500InternalServerError);
        }

        string summaryPath = Path.Combine(newest.DirectoryName ?? ".", "summary.md");
        return Results.Json(new JsonObject
        {
            ["path"] = shown,
            ["modifiedAt"] = newest.LastWriteTimeUtc.ToString("O"),
            ["result"] = result,
            ["summary"] = File.Exists(summaryPath) ? File.ReadAllText(summaryPath) : null,
        });
    }
}
