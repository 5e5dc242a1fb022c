using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Backhaul;
using Relay.CoreSim.Faults;
using Relay.CoreSim.Http;
using Relay.CoreSim.Sessions;
using Relay.CoreSim.WireGuard;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim;

/// <summary>core-sim as a host: built by Program.cs, or started in-process by tests and tools.</summary>
public sealed class CoreSimHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CoreSimHost(WebApplication app)
    {
        _app = app;
    }

    /// <summary>The HTTP base address, e.g. http://127.0.0.1:7080/.</summary>
    public Uri HttpUri { get; private set; } = null!;

    /// <summary>The direct websocket endpoint, e.g. ws://127.0.0.1:7080/ws.</summary>
    public Uri WebSocketUri => new UriBuilder(HttpUri) { Scheme = HttpUri.Scheme == "https" ? "wss" : "ws", Path = "/ws" }.Uri;

    /// <summary>The bound HTTP port.</summary>
    public int HttpPort => HttpUri.Port;

    /// <summary>The bound backhaul port.</summary>
    public int BackhaulPort => _app.Services.GetRequiredService<BackhaulService>().Listener.LocalEndPoint.Port;

    /// <summary>The token issuer (tests mint tokens directly).</summary>
    public TokenIssuer Tokens => _app.Services.GetRequiredService<TokenIssuer>();

    /// <summary>The effective options.</summary>
    public CoreSimOptions Options => _app.Services.GetRequiredService<IOptions<CoreSimOptions>>().Value;

    /// <summary>Builds the web application from command-line args and configuration (appsettings, env, args).</summary>
    public static WebApplication Build(string[] args, Action<CoreSimOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);

        // No request lines unless asked for (appsettings.json says so too; this holds wherever the content root is).
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new MemoryConfigurationSource { InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore", "Warning")] });
        var section = builder.Configuration.GetSection(CoreSimOptions.SectionName);
        var optionsBuilder = builder.Services.AddOptions<CoreSimOptions>().Bind(section);
        if (configure is not null)
        {
            optionsBuilder.Configure(configure);
        }

        builder.Services.AddSingleton<IValidateOptions<CoreSimOptions>, CoreSimOptionsValidator>();
        optionsBuilder.ValidateOnStart();

        // Kestrel binds BindAddress:HttpPort unless --urls / ASPNETCORE_URLS says otherwise.
        var probe = new CoreSimOptions();
        section.Bind(probe);
        configure?.Invoke(probe);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && probe.Validate() is null)
        {
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.Listen(IPAddress.Parse(probe.BindAddress), probe.HttpPort);
                if (!string.IsNullOrEmpty(probe.CertificatePath))
                {
                    // Optional wss: the same endpoints over TLS, HTTP/1.1 (websocket upgrade).
                    var certificate = Tls.CoreSimCertificate.Load(probe.CertificatePath, probe.CertificateKeyPath!);
                    k.Listen(IPAddress.Parse(probe.BindAddress), probe.HttpsPort, l =>
                    {
                        l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                        l.UseHttps(certificate);
                    });
                }
            });
        }

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FaultState>();
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CoreSimOptions>>().Value;
            var issuer = new TokenIssuer(o.SigningKeyPath, sp.GetRequiredService<TimeProvider>());
            if (!string.IsNullOrEmpty(o.PublicKeyPath))
            {
                File.WriteAllText(o.PublicKeyPath, issuer.PublicKeyPem);
            }

            return issuer;
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<TokenIssuer>().CreateVerifier());
        builder.AddCoreSimWireGuard(); // WireGuard tunnel (issue 5): CoreSim:WireGuard, up before the listeners bind
        builder.Services.AddSingleton<BackhaulService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BackhaulService>());
        builder.Services.AddSingleton<Fleet.FleetRegistry>();
        builder.Services.AddSingleton<Fleet.FleetPolicy>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Fleet.FleetPolicy>());
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.TypeInfoResolverChain.Insert(0, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()));

        var app = builder.Build();

        // Create the key pair now: the public key file (CoreSim:PublicKeyPath) exists before anyone asks for a token.
        _ = app.Services.GetRequiredService<TokenIssuer>();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        CoreSimEndpoints.Map(app);
        return app;
    }

    /// <summary>Starts core-sim in-process. Tests pass HttpPort = 0, BackhaulPort = 0, BindAddress = 127.0.0.1.</summary>
    public static async Task<CoreSimHost> StartAsync(Action<CoreSimOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var app = Build([], configure);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .OrderBy(a => a.StartsWith("https:", StringComparison.Ordinal)).First(); // the plain HTTP listener when wss is on too
        var uri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return new CoreSimHost(app) { HttpUri = new UriBuilder(uri) { Path = "/" }.Uri };
    }

    /// <summary>Stops the host: streams end with 1001, websockets are aborted.</summary>
    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
