using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Relay.Gateway.Configuration;
using Relay.Gateway.EdgeHttp.Cache;
using Relay.Gateway.Health;
using Relay.Gateway.Metrics;
using Yarp.ReverseProxy.Forwarder;

namespace Relay.Gateway.Tests.EdgeHttp.Cache;

/// <summary>
/// A front host as the gateway will be once HTTP forwarding lands: Kestrel on loopback, <c>UseEdgeCache()</c>, then
/// YARP's <see cref="IHttpForwarder"/> to <see cref="TestOrigin"/> over real HTTP; the gateway's admin check, metrics
/// and a <see cref="FakeTimeProvider"/> for TTLs.
/// </summary>
internal sealed class EdgeCacheFront : IAsyncDisposable
{
    public const string AdminKey = "admin-test-key";
    private readonly HttpMessageInvoker _toOrigin = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false });

    private EdgeCacheFront(TestOrigin origin) => Origin = origin;

    public TestOrigin Origin { get; }

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-12-02T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    public WebApplication App { get; private set; } = null!;

    public string Url { get; private set; } = string.Empty;

    /// <summary>Requests that reached the front host (before the cache).</summary>
    public int Arrived => Volatile.Read(ref _arrived);

    public HttpClient Client { get; } = new(new SocketsHttpHandler { UseProxy = false, UseCookies = false, AutomaticDecompression = DecompressionMethods.None });

    private int _arrived;

    internal EdgeCacheStore Store => App.Services.GetRequiredService<EdgeCacheStore>();

    public static async Task<EdgeCacheFront> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var origin = await TestOrigin.StartAsync();
        var front = new EdgeCacheFront(origin);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Services.AddSingleton<TimeProvider>(front.Time);
        builder.Services.AddRelayMetrics();
        builder.Services.AddEdgeCache(builder.Configuration);
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var gateway = new GatewayOptions { AdminKey = AdminKey };
        app.Use((context, next) =>
        {
            Interlocked.Increment(ref front._arrived);
            return next(context);
        });
        app.UseEdgeCache(); // the default scope: endpoints marked WithEdgeCache(), as the gateway's forwarding will be
        app.MapEdgeCacheAdmin(context => HealthEndpoints.Authorized(context, gateway));
        app.MapRelayMetrics();
        app.Map("/{**path}", async context =>
        {
            var forwarder = context.RequestServices.GetRequiredService<IHttpForwarder>();
            await forwarder.SendAsync(context, front.Origin.Url, front._toOrigin, ForwarderRequestConfig.Empty, HttpTransformer.Default);
        }).WithEdgeCache();
        await app.StartAsync();
        front.App = app;
        front.Url = GatewayHost.Urls(app).First(u => u.StartsWith("http://", StringComparison.Ordinal));
        return front;
    }

    public async Task<Answer> GetAsync(string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url + path);
        configure?.Invoke(request);
        using var response = await Client.SendAsync(request);
        return new Answer(
            response.StatusCode,
            await response.Content.ReadAsStringAsync(),
            response.Headers.TryGetValues("Cache-Status", out var status) ? string.Join(", ", status) : string.Empty,
            response.Headers.CacheControl?.ToString(),
            response.Headers.Contains("Cache-Tag") || response.Content.Headers.Contains("Cache-Tag"));
    }

    public async Task<HttpResponseMessage> PurgeAsync(string query, string? key = AdminKey)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Url}/admin/cache/purge?{query}");
        if (key is not null)
        {
            request.Headers.Authorization = new("Bearer", key);
        }

        return await Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _toOrigin.Dispose();
        await Origin.DisposeAsync();
    }

    public sealed record Answer(HttpStatusCode Status, string Body, string CacheStatus, string? CacheControl, bool HasCacheTag);
}
