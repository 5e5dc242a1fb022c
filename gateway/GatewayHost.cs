using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Hosting.WindowsServices;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.Gateway.Backhaul;
using Relay.Gateway.Configuration;
using Relay.Gateway.EdgeHttp;
using Relay.Gateway.EdgeHttp.Cache;
using Relay.Gateway.Health;
using Relay.Gateway.Hosting;
using Relay.Gateway.Logging;
using Relay.Gateway.Metrics;
using Relay.Gateway.Security;
using Relay.Gateway.Sessions;
using Relay.Gateway.Tls;
using Relay.Gateway.WireGuard;

namespace Relay.Gateway;

/// <summary>Builds the gateway web host (used by Program and by in-process tests).</summary>
public static class GatewayHost
{
    /// <summary>
    /// Builds the host. Throws <see cref="OptionsValidationException"/> with one line naming a bad setting: an unknown
    /// key under "Gateway", a value that does not convert, or one that fails validation. <paramref name="configure"/>
    /// (tests) runs after binding, before validation. <paramref name="systemConfigPath"/> (Program:
    /// <see cref="GatewayConfiguration.SystemConfigPath"/>) is read when it exists and no <c>--config FILE</c> is given
    /// (order of the sources: <see cref="GatewayConfiguration"/>). <paramref name="services"/> (tests) runs last on the
    /// service collection, to replace a registration (a fake <see cref="TimeProvider"/>).
    /// </summary>
    public static WebApplication Build(string[] args, Action<GatewayOptions>? configure = null, string? systemConfigPath = null, Action<IServiceCollection>? services = null)
    {
        string? configFile = GatewayConfiguration.TakeConfigArgument(ref args);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = WindowsServiceHelpers.IsWindowsService() ? AppContext.BaseDirectory : null, // a service starts in System32
        });
        GatewayConfiguration.Apply(builder, configFile, systemConfigPath);
        LoggingDefaults.Apply(builder);
        builder.Services.AddWindowsService(); // issue 19: service lifetime and event log under the Windows SCM; nothing elsewhere
        if (GatewaySettings.Schema.Check(builder.Configuration.AsEnumerable()) is { } error)
        {
            throw new OptionsValidationException(GatewayOptions.Section, typeof(GatewayOptions), [error]);
        }

        builder.Services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateOnStart();
        if (configure is not null)
        {
            builder.Services.PostConfigure(configure);
        }

        builder.Services.PostConfigure<GatewayOptions>(o =>
        {
            if (o.Backhaul.Endpoints.Length == 0)
            {
                o.Backhaul.Endpoints = [BackhaulOptions.DefaultEndpoint];
            }
        });
        if (builder.Environment.IsDevelopment())
        {
            // Development: no key set proves the development key, as core-sim in Development expects (elsewhere refused).
            builder.Services.PostConfigure<GatewayOptions>(o => o.Backhaul.SharedKey = string.IsNullOrEmpty(o.Backhaul.SharedKey) ? Relay.Tunnel.Links.LinkKey.DevelopmentKey : o.Backhaul.SharedKey);
        }

        builder.Services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        // Token keys (issue 16): the PEM file, or the core's JWKS refreshed; the "tokens" health signal.
        builder.Services.AddSingleton<Tokens.TokenKeySource>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Tokens.TokenKeySource>());
        builder.Services.AddSingleton<Health.IHealthSignal>(sp => sp.GetRequiredService<Tokens.TokenKeySource>());
        builder.Services.AddSingleton(sp => sp.GetRequiredService<Tokens.TokenKeySource>().Verifier);
        builder.Services.AddRelayMetrics();
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton<SessionEndpoint>();
        builder.Services.AddSingleton(sp => new Edge.ConnectionGate(sp.GetRequiredService<IOptions<GatewayOptions>>(), sp.GetRequiredService<TimeProvider>()));
        builder.Services.AddSingleton<Edge.ConnectionGateMetrics>();
        // Kestrel's socket transport with the gate asked at accept; registered after Kestrel's own, so it is the one used.
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory, Edge.GatedSocketTransportFactory>();
        builder.Services.AddSingleton<Edge.IClientConnections>(s => new Upgrade.SocketUpgrade(
            s.GetRequiredService<SessionEndpoint>(), s.GetRequiredService<Edge.ConnectionGate>(), s.GetRequiredService<IOptions<GatewayOptions>>().Value,
            s.GetRequiredService<TimeProvider>(), s.GetRequiredService<Metrics.GatewayMetrics>(),
            s.GetRequiredService<ILogger<Upgrade.SocketUpgrade>>())); // issue 21: the client listeners' sessions on their own sockets
        builder.Services.AddSingleton<BackhaulService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BackhaulService>());
        builder.Services.AddHostedService<ShutdownService>();
        builder.Services.AddSingleton<MemoryTrimService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MemoryTrimService>());
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRelayHealth();
        builder.Services.AddRelayUnderAttack(sp => sp.GetRequiredService<SessionRegistry>().Snapshot().Select(s => s.Key)); // Under Attack mode (issue 16): Gateway:UnderAttack, GET /challenge, POST /admin/under-attack
        builder.Services.AddEdgeHttp(); // issue 18: Gateway:EdgeHttp, requests under its prefixes to the core over the backhaul
        builder.Services.AddEdgeCache(builder.Configuration); // edge cache (issue 18): Gateway:EdgeHttp:Cache, in front of HTTP forwarding
        builder.AddRelayWireGuard(); // WireGuard tunnel (issue 5): Gateway:WireGuard, "tunnel" health signal
        builder.Services.AddRelaySystemd(); // issue 19: Type=notify, READY=1 once /readyz is 200, STOPPING=1 at SIGTERM
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<GatewayOptions>>((h, o) => h.ShutdownTimeout = o.Value.ShutdownTimeout + (2 * o.Value.CloseTimeout)); // the drain, the last closes, then Kestrel's own stop

        builder.WebHost.UseSockets();
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IOptions<GatewayOptions>>((sockets, o) => sockets.UnsafePreferInlineScheduling = o.Value.KestrelInlineScheduling);
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IOptions<GatewayOptions>>((sockets, o) => sockets.Backlog = o.Value.ListenBacklog); // issue 16: where a flood waits beyond the accept budget
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var options = kestrel.ApplicationServices.GetRequiredService<IOptions<GatewayOptions>>().Value;
            var bind = IPAddress.Parse(options.BindAddress);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            ConfigureLimits(kestrel.Limits, kestrel.ApplicationServices.GetRequiredService<Edge.ConnectionGate>(), options);
            // Issue 21: the client listeners own their connections (sessions on their own sockets) unless told not to.
            bool own = options.FastUpgrade && options.SocketSessions;
            kestrel.Listen(own ? new Edge.ClientEndPoint(bind, options.HttpPort) : new IPEndPoint(bind, options.HttpPort), l =>
            {
                l.Protocols = HttpProtocols.Http1;
                UseConnectionGate(l, options);
                UseFastUpgrade(l, options);
            });
            if (options.CertificatePath is not null)
            {
                var certificate = new CertificateHolder(options);
                _ = certificate.Context; // fail at start, not at the first handshake
                // Owned, the relay does the TLS handshake itself (Upgrade.SocketUpgrade) and hands Kestrel what is not a
                // session already decrypted: those connections skip the gate and TLS middlewares here and enter the
                // pipeline right after TLS (afterTls, behind a gate of their own).
                ConnectionDelegate? afterTls = null;
                kestrel.Listen(new Edge.ClientEndPoint(bind, options.HttpsPort, certificate, owns: own), l =>
                {
                    l.Protocols = HttpProtocols.Http1AndHttp2;
                    if (own)
                    {
                        l.Use(next => connection => connection is Upgrade.DecryptedConnection ? afterTls!(connection) : next(connection));
                    }

                    UseConnectionGate(l, options); // before TLS: the PROXY header comes first
                    // One certificate context per loaded file, not a certificate per handshake (CertificateHolder);
                    // Kestrel adds ALPN for the listener's protocols to the options returned here.
                    l.UseHttps(new TlsHandshakeCallbackOptions
                    {
                        OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions { ServerCertificateContext = certificate.Context }),
                    });
                    if (own)
                    {
                        l.Use(next =>
                        {
                            afterTls = ConnectionGate(l, options, next); // built once per bind, before any connection
                            return next;
                        });
                    }

                    UseTlsReleaseBuffers(l, options);
                    UseFastUpgrade(l, options); // after TLS: it reads the decrypted request
                });
            }
        });

        services?.Invoke(builder.Services);
        var app = builder.Build();
        var gateway = Resolve(app.Services); // a bad setting stops here, before anything starts
        _ = app.Services.GetRequiredService<Edge.ConnectionGateMetrics>(); // its gauges exist from the start
        UseForwardedFor(app);
        if (gateway.EnableCompression)
        {
            // ASP.NET Core's middleware accepts deflate sessions itself: the streams it upgrades to are paced (pongs).
            var pongs = app.Services.GetRequiredService<SessionEndpoint>().Pongs;
            app.Use((context, next) =>
            {
                if (context.Request.Path.Equals("/ws", StringComparison.OrdinalIgnoreCase)) // as the route matches it
                {
                    PacedUpgradeFeatures.Wrap(context, pongs);
                }

                return next(context);
            });
        }

        app.UseWebSockets();
        // Issue 18: requests under Gateway:EdgeHttp:Prefixes go to the core over the backhaul (a terminal branch),
        // with the edge cache (gateway/EdgeHttp/Cache) right in front of it.
        var edgeHttpPrefixes = app.Services.GetRequiredService<EdgeHttpPrefixes>();
        app.UseEdgeCache(context => edgeHttpPrefixes.Matches(context.Request.Path));
        app.UseEdgeHttp();
        Edge.ClientRequestRate.Use(app, gateway); // the relay's own endpoints, per client (not /ws, not the edge prefixes above)
        app.Map("/ws", (HttpContext context, SessionEndpoint endpoint) => endpoint.HandleAsync(context));
        app.MapRelayHealth();
        app.MapRelayMetrics();
        app.MapRelayUnderAttack();
        app.MapEdgeCacheAdmin(context => HealthEndpoints.Authorized(context, gateway)); // edge cache (issue 18): POST /admin/cache/purge
        app.MapRelayTunnel(); // WireGuard tunnel (issue 5): GET /tunnel
        Negotiate.NegotiateEndpoints.MapRelayNegotiate(app); // issue 17: GET /v1/negotiate from the core's fleet view

        // Development demo chat widget (issue 7, gateway/Demo): GET /, /relay-client.global.js, POST /demo/token.
        // On when Gateway:DemoWidget is true; default true only in the Development environment.
        if (gateway.DemoWidget ?? app.Environment.IsDevelopment())
        {
            Demo.DemoEndpoints.MapDemoWidget(app, gateway);
        }

        return app;
    }

    // The binder throws InvalidOperationException at the first resolve for a value it cannot convert (the schema
    // check catches those first; this keeps any it misses to one line too).
    private static GatewayOptions Resolve(IServiceProvider services)
    {
        try
        {
            return services.GetRequiredService<IOptions<GatewayOptions>>().Value;
        }
        catch (InvalidOperationException e)
        {
            throw new OptionsValidationException(GatewayOptions.Section, typeof(GatewayOptions), [e.Message.ReplaceLineEndings(" ")]);
        }
    }

    /// <summary>
    /// Connection caps (issue 16): the gate's own counters refuse (it is first on both client listeners, the only
    /// listeners); Kestrel's upgraded-connection limit sits just above them as a backstop for ASP.NET Core's upgrades,
    /// inside the descriptors kept in reserve. Not Kestrel's connection limit: the gate already counts every connection,
    /// and that limit costs each connection, for its whole life, one more async frame and releaser (≈ 170 B per idle
    /// session, issue 21). A pre-auth connection holds little: a short head deadline (also between the requests of a
    /// connection kept alive, and on an HTTP/2 connection with no stream open: Kestrel's keep-alive timeout, 2 min 10 s by
    /// default, let one cheap request hold a pre-auth place thirteen times as long), a small request line and head, a
    /// small input buffer. Over HTTP/2 that buffer is the flow-control window the relay grants: request bytes no handler
    /// has read yet (a websocket held to its message rate, a forwarded request waiting for the core) wait in the heap, up
    /// to the window; Kestrel's defaults (768 KiB a stream, 1 MiB a connection) let one client park 1 MiB per connection,
    /// sixteen times what HTTP/1.1's input buffer allows. A stream's window still takes a whole message of the default
    /// largest size (64 KiB); a larger one flows as the session reads it.
    /// </summary>
    private static void ConfigureLimits(KestrelServerLimits limits, Edge.ConnectionGate gate, GatewayOptions options)
    {
        limits.MaxConcurrentConnections = null;
        limits.MaxConcurrentUpgradedConnections = gate.MaxConnections + Edge.ConnectionGate.FileReserve / 4;
        limits.RequestHeadersTimeout = options.RequestHeadTimeout;
        limits.KeepAliveTimeout = options.RequestHeadTimeout; // a kept-alive connection waits for its next head in a pre-auth place
        limits.MaxRequestLineSize = 4 * 1024;
        limits.MaxRequestHeadersTotalSize = 16 * 1024;
        limits.MaxRequestBufferSize = 64 * 1024;
        limits.Http2.InitialStreamWindowSize = Http2StreamWindow;
        limits.Http2.InitialConnectionWindowSize = Http2ConnectionWindow;
    }

    /// <summary>Request bytes an HTTP/2 client may send on one stream before the relay has read them (96 KiB).</summary>
    internal const int Http2StreamWindow = 96 * 1024;

    /// <summary>Request bytes an HTTP/2 client may send on one connection, all its streams, before the relay has read them (128 KiB).</summary>
    internal const int Http2ConnectionWindow = 128 * 1024;

    /// <summary>First on each client listener: the connection caps and, from trusted proxies, the PROXY v2 header.</summary>
    private static void UseConnectionGate(ListenOptions listen, GatewayOptions options) => listen.Use(next => ConnectionGate(listen, options, next));

    private static ConnectionDelegate ConnectionGate(ListenOptions listen, GatewayOptions options, ConnectionDelegate next)
    {
        var services = listen.ApplicationServices;
        return new Edge.ConnectionGateMiddleware(
            next,
            services.GetRequiredService<Edge.ConnectionGate>(),
            options,
            services.GetRequiredService<TimeProvider>(),
            services.GetRequiredService<ILoggerFactory>().CreateLogger<Edge.ConnectionGateMiddleware>()).OnConnectionAsync;
    }

    /// <summary>X-Forwarded-For on the HTTP path, from <see cref="GatewayOptions.TrustedProxies"/> only (none: ignored).</summary>
    private static void UseForwardedFor(WebApplication app)
    {
        var trusted = app.Services.GetRequiredService<Edge.ConnectionGate>().Trusted;
        if (trusted.IsEmpty)
        {
            return;
        }

        var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor };
        forwarded.KnownProxies.Clear();
        forwarded.KnownIPNetworks.Clear(); // the defaults trust loopback
        foreach (var network in trusted.Networks)
        {
            forwarded.KnownIPNetworks.Add(network);
        }

        app.UseForwardedHeaders(forwarded);
    }

    /// <summary>Issue 21: each wss connection's OpenSSL buffers are freed while idle (<see cref="Tls.OpenSslBuffers"/>).</summary>
    private static void UseTlsReleaseBuffers(ListenOptions listen, GatewayOptions options)
    {
        if (options.TlsReleaseBuffers && Tls.OpenSslBuffers.Available)
        {
            var metrics = listen.ApplicationServices.GetRequiredService<Metrics.GatewayMetrics>();
            listen.Use(next => connection =>
            {
                if (connection.Features.Get<Microsoft.AspNetCore.Server.Kestrel.Core.Features.ISslStreamFeature>()?.SslStream is { } tls
                    && Tls.OpenSslBuffers.ReleaseWhenIdle(tls) is { } mode && (mode & Tls.OpenSslBuffers.ReleaseBuffersMode) != 0)
                {
                    metrics.TlsBuffersReleasedOnce(); // OpenSSL answered with the mode set
                }

                return next(connection);
            });
        }
    }

    private static void UseFastUpgrade(ListenOptions listen, GatewayOptions options)
    {
        if (options.FastUpgrade)
        {
            listen.Use(next => new Upgrade.WebSocketUpgradeMiddleware(
                next,
                listen.ApplicationServices.GetRequiredService<SessionEndpoint>(),
                listen.ApplicationServices.GetRequiredService<Edge.ConnectionGate>(),
                options,
                listen.ApplicationServices.GetRequiredService<TimeProvider>(),
                listen.ApplicationServices.GetRequiredService<Metrics.GatewayMetrics>(),
                listen.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger<Upgrade.WebSocketUpgradeMiddleware>()).OnConnectionAsync);
        }
    }

    /// <summary>The URLs the host is bound to (real ports when 0 was asked).</summary>
    public static IReadOnlyList<string> Urls(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
