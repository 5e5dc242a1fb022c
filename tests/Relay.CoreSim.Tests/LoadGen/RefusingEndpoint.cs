using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.CoreSim.Tests.LoadGen;

/// <summary>
/// A websocket URL that refuses every upgrade as a gateway at its limits does: an HTTP status with the reason as a
/// one-line body (the gateway's per-address cap: 429 "more than 100 sessions from one address"). Kestrel on loopback, port 0.
/// </summary>
internal sealed class RefusingEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _refused;

    private RefusingEndpoint(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>ws://127.0.0.1:PORT/ws.</summary>
    public Uri Url { get; }

    /// <summary>Upgrade requests answered so far.</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static async Task<RefusingEndpoint> StartAsync(int status, string reason)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        RefusingEndpoint? endpoint = null;
        app.Map("/ws", async context =>
        {
            Interlocked.Increment(ref endpoint!._refused);
            context.Response.StatusCode = status;
            await context.Response.WriteAsync(reason + "\n");
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        endpoint = new RefusingEndpoint(app, new UriBuilder(address) { Scheme = "ws", Path = "/ws" }.Uri);
        return endpoint;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
