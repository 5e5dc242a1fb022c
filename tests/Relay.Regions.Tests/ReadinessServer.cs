using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Regions.Tests;

/// <summary>A relay's readiness endpoint only: a real Kestrel on its own loopback address whose /readyz answers 200 or 503.</summary>
internal sealed class ReadinessServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile bool _ready = true;

    private ReadinessServer(WebApplication app, string address, int port)
    {
        _app = app;
        Address = address;
        Port = port;
    }

    public string Address { get; }

    public int Port { get; }

    public string ReadyzUrl => $"http://{Address}:{Port}/readyz";

    /// <summary>200 when true (the default), 503 when false, as a draining or sick gateway answers.</summary>
    public bool Ready
    {
        get => _ready;
        set => _ready = value;
    }

    public static async Task<ReadinessServer> StartAsync(string address, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Parse(address), 0));
        var app = builder.Build();
        ReadinessServer? server = null;
        app.MapGet("/readyz", () => server!.Ready ? Results.Text("ready") : Results.Text("not ready", statusCode: StatusCodes.Status503ServiceUnavailable));
        await app.StartAsync(cancellationToken);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server = new ReadinessServer(app, address, new Uri(bound).Port);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
