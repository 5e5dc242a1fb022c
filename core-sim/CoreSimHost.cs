using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Backhaul;
using Relay.CoreSim.Configuration;
using Relay.CoreSim.Faults;
using Relay.CoreSim.Http;
using Relay.CoreSim.Sessions;
using Relay.WireGuard.Hosting;
using Relay.Contracts.Logging;
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

    /// <summary>The admin key (CoreSim:AdminKey, or the one generated at start in Development) for
    /// <c>Authorization: Bearer</c> on faults, drain/undrain and operator tokens.</summary>
    public string AdminKey => Options.AdminKey!;

    /// <summary>The host's services (tests).</summary>
    internal IServiceProvider Services => _app.Services;

    /// <summary>The effective options.</summary>
    public CoreSimOptions Options => _app.Services.GetRequiredService<IOptions<CoreSimOptions>>().Value;

    /// <summary>
    /// appsettings.json (and appsettings.{Environment}.json) are read beside the binary, not in the current directory
    /// (issue 19: <c>./build.sh run</c> starts core-sim from the checkout), below the environment and the command line.
    /// </summary>
    private static void UseAppSettingsBesideBinary(WebApplicationBuilder builder)
    {
        var sources = ((IConfigurationBuilder)builder.Configuration).Sources;
        for (int i = sources.Count - 1; i >= 0; i--)
        {
            if (sources[i] is Microsoft.Extensions.Configuration.Json.JsonConfigurationSource)
            {
                sources.RemoveAt(i);
            }
        }

        int at = 0;
        while (at < sources.Count && sources[at] is not Microsoft.Extensions.Configuration.EnvironmentVariables.EnvironmentVariablesConfigurationSource { Prefix: null or "" })
        {
            at++;
        }

        foreach (string name in new[] { "appsettings.json", $"appsettings.{builder.Environment.EnvironmentName}.json" })
        {
            var source = new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource { Path = Path.Combine(AppContext.BaseDirectory, name), Optional = true, ReloadOnChange = false };
            source.ResolveFileProvider();
            sources.Insert(at++, source);
        }
    }

    /// <summary>
    /// Builds the web application from command-line args and configuration (appsettings, env, args). Throws
    /// <see cref="OptionsValidationException"/> with one line naming a bad setting: an unknown key under "CoreSim", a
    /// value that does not convert, or one that fails validation. <paramref name="configure"/> (tests, tools) runs
    /// after binding, before validation. <paramref name="environmentName"/> overrides the environment
    /// (ASPNETCORE_ENVIRONMENT, --environment).
    /// </summary>
    public static WebApplication Build(string[] args, Action<CoreSimOptions>? configure = null, string? environmentName = null) =>
        Build(args, configure, environmentName, TimeProvider.System);

    /// <summary><see cref="Build(string[], Action{CoreSimOptions}?, string?)"/> on <paramref name="time"/> (tests: a fake clock for token and file ages).</summary>
    internal static WebApplication Build(string[] args, Action<CoreSimOptions>? configure, string? environmentName, TimeProvider time)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, EnvironmentName = environmentName });
        UseAppSettingsBesideBinary(builder);

        // No request lines unless asked for (appsettings.json says so too; this holds wherever the content root is),
        // and when they are, no access token in them (direct /ws takes it in the URL, as the gateway does).
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new MemoryConfigurationSource { InitialData = [new("Logging:LogLevel:Microsoft.AspNetCore", "Warning")] });
        RedactingLoggerFactory.Register(builder.Services);
        if (CoreSimSettings.Schema.Check(builder.Configuration.AsEnumerable()) is { } error)
        {
            throw new OptionsValidationException(CoreSimOptions.SectionName, typeof(CoreSimOptions), [error]);
        }

        builder.Services.AddOptions<CoreSimOptions>().BindConfiguration(CoreSimOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            builder.Services.PostConfigure(configure);
        }

        // Development without CoreSim:AdminKey: a random key for this run, logged once below. Elsewhere it is required.
        string? generatedAdminKey = builder.Environment.IsDevelopment() ? Http.AdminKey.Generate() : null;
        if (generatedAdminKey is not null)
        {
            builder.Services.PostConfigure<CoreSimOptions>(o => o.AdminKey = string.IsNullOrEmpty(o.AdminKey) ? generatedAdminKey : o.AdminKey);
        }

        // Development: relays without their own key in CoreSim:RelayKeys prove the development key (elsewhere refused).
        if (builder.Environment.IsDevelopment())
        {
            builder.Services.PostConfigure<CoreSimOptions>(o => o.SharedKey = string.IsNullOrEmpty(o.SharedKey) ? CoreSimOptions.DevelopmentSharedKey : o.SharedKey);
        }

        builder.Services.AddSingleton<IValidateOptions<CoreSimOptions>, CoreSimOptionsValidator>();

        // Kestrel binds BindAddress:HttpPort unless --urls / ASPNETCORE_URLS says otherwise, and always the backhaul's
        // HTTP streams (issue 18): BackhaulHttpEndPoint, through BackhaulHttpListenerFactory.
        string? urls = builder.Configuration["urls"];
        builder.WebHost.ConfigureKestrel(k =>
        {
            var options = k.ApplicationServices.GetRequiredService<IOptions<CoreSimOptions>>().Value;
            // The public listeners' connections are capped (CoreSim:MaxConnections); not Kestrel's own limit, which would
            // count the relays' backhaul HTTP streams too (they hold no file).
            var cap = new Http.ConnectionCap(CoreSimOptions.EffectiveMaxConnections(options.MaxConnections, Relay.Contracts.Configuration.FileLimit.OpenFiles()));
            if (string.IsNullOrEmpty(urls))
            {
                k.Listen(IPAddress.Parse(options.BindAddress), options.HttpPort, l => l.Use(cap.Middleware));
                if (!string.IsNullOrEmpty(options.CertificatePath))
                {
                    // Optional wss: the same endpoints over TLS, HTTP/1.1 (websocket upgrade).
                    var certificate = Tls.CoreSimCertificate.Load(options.CertificatePath, options.CertificateKeyPath!);
                    k.Listen(IPAddress.Parse(options.BindAddress), options.HttpsPort, l =>
                    {
                        l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1;
                        l.Use(cap.Middleware);
                        l.UseHttps(certificate);
                    });
                }
            }
            else
            {
                ListenUrls(k, urls, cap); // a Listen in code would otherwise make Kestrel ignore --urls
            }

            k.Listen(BackhaulHttpEndPoint.Instance, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
        });
        builder.Services.AddSingleton<BackhaulHttpListener>();
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory, BackhaulHttpListenerFactory>();

        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton<FaultState>();
        builder.Services.AddSingleton(sp => new Http.FleetSnapshots(sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<CoreSimOptions>>().Value.FleetStreamMaxClients));
        builder.Services.AddSingleton<Http.FleetView>();
        builder.Services.AddSingleton<FilesStore>(); // issue 18: POST/GET /files
        builder.Services.AddHostedService(sp => sp.GetRequiredService<FilesStore>()); // its index at start, the expiry sweep
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddHostedService<ClusterService>(); // issue 20: CoreSim:Cluster:Redis (nothing without it)
        builder.Services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CoreSimOptions>>().Value;
            var issuer = new TokenIssuer(o.SigningKeyPath, sp.GetRequiredService<TimeProvider>(), o.TokenIssuer, o.TokenAudience, o.KeyOverlap);
            if (!string.IsNullOrEmpty(o.PublicKeyPath))
            {
                try
                {
                    File.WriteAllText(o.PublicKeyPath, issuer.PublicKeyPem);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A missing folder or a read-only place: one line naming the setting, as for the validator's checks.
                    throw new OptionsValidationException(CoreSimOptions.SectionName, typeof(CoreSimOptions), [$"CoreSim:PublicKeyPath: cannot write '{o.PublicKeyPath}': {e.Message.ReplaceLineEndings(" ")}"]);
                }
            }

            return issuer;
        });
        builder.Services.AddSingleton(sp => sp.GetRequiredService<TokenIssuer>().CreateVerifier());
        builder.Services.AddSingleton<Tokens.TokenRefresher>();
        builder.Services.AddHostedService<Tokens.KeyRotationService>(); // CoreSim:KeyRotationInterval (off by default)
        builder.AddWireGuardTunnel(CoreSimOptions.SectionName + ":WireGuard"); // WireGuard tunnel (issue 5): up before the listeners bind
        builder.Services.AddSingleton<BackhaulService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BackhaulService>());
        builder.Services.AddSingleton<Fleet.FleetRegistry>();
        builder.Services.AddSingleton<Fleet.FleetRegions>();
        builder.Services.AddSingleton<Fleet.SteeringLog>();
        builder.Services.AddSingleton<Fleet.FleetPolicy>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Fleet.FleetPolicy>());
        builder.Services.ConfigureHttpJsonOptions(j => j.SerializerOptions.TypeInfoResolverChain.Insert(0, new System.Text.Json.Serialization.Metadata.DefaultJsonTypeInfoResolver()));

        var app = builder.Build();
        Resolve(app.Services); // a bad setting stops here, before anything starts

        // Create the key pair now: the public key file (CoreSim:PublicKeyPath) exists before anyone asks for a token.
        _ = app.Services.GetRequiredService<TokenIssuer>();
        if (generatedAdminKey is not null && app.Services.GetRequiredService<IOptions<CoreSimOptions>>().Value.AdminKey == generatedAdminKey)
        {
            app.Logger.LogWarning("No CoreSim:AdminKey configured (Development): admin key for this run: {AdminKey}", generatedAdminKey);
        }

        // Issue 18: X-Forwarded-*/Forwarded trusted only on backhaul HTTP streams (removed on direct requests); the
        // chat HTTP surface's fault hooks for tests (CoreSim:HttpFaultHooks, Development by default).
        app.UseRelayForwardedHeaders();
        if (app.Services.GetRequiredService<IOptions<CoreSimOptions>>().Value.HttpFaultHooks ?? app.Environment.IsDevelopment())
        {
            app.UseHttpFaultHooks(app.Services.GetRequiredService<TimeProvider>());
        }

        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(20) });
        CoreSimEndpoints.Map(app);
        return app;
    }

    /// <summary>Binds each <c>--urls</c> address (http://IP:port, http://localhost:port, http://*:port).</summary>
    private static void ListenUrls(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, string urls, Http.ConnectionCap cap)
    {
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var address = BindingAddress.Parse(url);
            Action<Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions> https = l =>
            {
                l.Use(cap.Middleware);
                if (address.Scheme == "https")
                {
                    l.UseHttps();
                }
            };
            if (address.Host == "localhost")
            {
                kestrel.ListenLocalhost(address.Port, https);
            }
            else if (IPAddress.TryParse(address.Host.Trim('[', ']'), out var ip))
            {
                kestrel.Listen(ip, address.Port, https);
            }
            else
            {
                kestrel.ListenAnyIP(address.Port, https);
            }
        }
    }

    // The binder throws InvalidOperationException at the first resolve for a value it cannot convert (the schema
    // check catches those first; this keeps any it misses to one line too).
    private static void Resolve(IServiceProvider services)
    {
        try
        {
            _ = services.GetRequiredService<IOptions<CoreSimOptions>>().Value;
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsValidationException(CoreSimOptions.SectionName, typeof(CoreSimOptions), [e.Message.ReplaceLineEndings(" ")]);
        }
    }

    /// <summary>Starts core-sim in-process in the Development environment (tests, tools: visitor tokens without the admin
    /// key; <see cref="AdminKey"/> generated unless configured). Tests pass HttpPort = 0, BackhaulPort = 0, BindAddress = 127.0.0.1.</summary>
    public static Task<CoreSimHost> StartAsync(Action<CoreSimOptions>? configure = null, CancellationToken cancellationToken = default) =>
        StartAsync(Environments.Development, configure, cancellationToken);

    /// <summary>Starts core-sim in-process in the named environment (e.g. <see cref="Environments.Production"/>).</summary>
    public static Task<CoreSimHost> StartAsync(string environmentName, Action<CoreSimOptions>? configure = null, CancellationToken cancellationToken = default) =>
        StartAsync(environmentName, configure, TimeProvider.System, cancellationToken);

    /// <summary>Starts core-sim in-process on <paramref name="time"/> (tests: a fake clock).</summary>
    internal static async Task<CoreSimHost> StartAsync(string environmentName, Action<CoreSimOptions>? configure, TimeProvider time, CancellationToken cancellationToken = default)
    {
        var app = Build([], configure, environmentName, time);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses
            .Where(a => !a.Contains(BackhaulHttpEndPoint.Instance.ToString(), StringComparison.Ordinal))
            .OrderBy(a => a.StartsWith("https:", StringComparison.Ordinal)).First(); // the plain HTTP listener when wss is on too
        var uri = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return new CoreSimHost(app) { HttpUri = new UriBuilder(uri) { Path = "/" }.Uri };
    }

    /// <summary>Stops the host: streams end with 1001, websockets are aborted.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false); // bounded by the host's ShutdownTimeout
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
