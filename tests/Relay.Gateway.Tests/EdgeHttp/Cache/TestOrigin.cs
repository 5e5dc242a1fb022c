using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Relay.Gateway.Tests.EdgeHttp.Cache;

/// <summary>
/// The origin behind the edge cache in these tests: a real Kestrel app on loopback with ETag'd assets, an API, a vary
/// echo, big bodies and tagged responses; it counts the requests it gets per path and can fail on demand.
/// </summary>
internal sealed class TestOrigin : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private WebApplication? _app;

    public required string Url { get; init; }

    /// <summary>Answer every request with this status (503: the origin is failing); null answers normally.</summary>
    public int? FailWith { get; set; }

    /// <summary>Part of every body and ETag: bump it to see a fresh copy from the origin.</summary>
    public int Version { get; set; } = 1;

    /// <summary>While set, asset requests wait for it (request coalescing: the origin holds the first request).</summary>
    public TaskCompletionSource? Gate { get; set; }

    public int Hits(string path) => _hits.TryGetValue(path, out int n) ? n : 0;

    public static async Task<TestOrigin> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        TestOrigin? origin = null;
        app.Use(async (context, next) =>
        {
            origin!._hits.AddOrUpdate(context.Request.Path.Value!, 1, static (_, n) => n + 1);
            if (origin.FailWith is int status)
            {
                context.Response.StatusCode = status;
                await context.Response.WriteAsync("origin failing\n");
                return;
            }

            await next(context);
        });
        app.MapGet("/api/{**rest}", (HttpContext context) => Results.Json(new { hits = origin!.Hits(context.Request.Path.Value!) }));
        app.MapGet("/vary/{**rest}", (HttpContext context) => Results.Text($"lang={context.Request.Headers.AcceptLanguage}"));
        app.MapGet("/big/{size:int}", (int size) => Results.Bytes(new byte[size], "application/octet-stream"));
        app.MapGet("/cookie/{**rest}", (HttpContext context) =>
        {
            context.Response.Headers.SetCookie = "session=secret";
            return Results.Text("personal");
        });
        app.MapGet("/cut/{**rest}", async (HttpContext context) =>
        {
            // A 200 without a length (chunked) whose body stops halfway: the connection is cut.
            context.Response.ContentType = "text/javascript";
            await context.Response.WriteAsync("half of a script");
            await context.Response.Body.FlushAsync();
            await Task.Delay(100);
            context.Abort();
        });
        app.MapGet("/{**path}", async (HttpContext context) =>
        {
            if (origin!.Gate is { } gate)
            {
                await gate.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }

            string etag = $"\"v{origin.Version}\"";
            context.Response.Headers.ETag = etag;
            context.Response.Headers.CacheControl = "public, max-age=60";
            if (context.Request.Path.StartsWithSegments("/tagged"))
            {
                context.Response.Headers["Cache-Tag"] = "widget, chat";
            }

            if (context.Request.Headers.IfNoneMatch == etag)
            {
                context.Response.StatusCode = StatusCodes.Status304NotModified;
                return;
            }

            context.Response.ContentType = "text/javascript";
            await context.Response.WriteAsync($"asset {context.Request.Path}{context.Request.QueryString} v{origin.Version}");
        });
        await app.StartAsync();
        origin = new TestOrigin { Url = GatewayHost.Urls(app).First(u => u.StartsWith("http://", StringComparison.Ordinal)) };
        origin._app = app;
        return origin;
    }

    /// <summary>Stops the origin: connections to it are refused (the backhaul is down).</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}
