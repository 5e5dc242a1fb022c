using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.Gateway.Health;
using Relay.Gateway.Hosting;
using Relay.Gateway.Logging;
using Relay.Gateway.Metrics;
using Relay.Gateway.Sessions;
using Relay.Gateway.Tls;
using Relay.Gateway.WireGuard;

namespace Relay.Gateway;

/// <summary>Builds the gateway web host (used by Program and by in-process tests).</summary>
public static class GatewayHost
{
    /// <summary>Builds the host. Throws <see cref="OptionsValidationException"/> with one line naming a bad setting.</summary>
    public static WebApplication Build(string[] args, Action<GatewayOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        LoggingDefaults.Apply(builder);
        var section = builder.Configuration.GetSection(GatewayOptions.Section);
        var options = new GatewayOptions();
        section.Bind(options);

        configure?.Invoke(options);
        string? error = options.Validate();
        if (error is not null)
        {
            throw new OptionsValidationException(GatewayOptions.Section, typeof(GatewayOptions), [error]);
        }

        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(TokenVerifier.FromPem(File.ReadAllText(options.PublicKeyPath)));
        builder.Services.AddRelayMetrics();
        builder.Services.AddSingleton<SessionRegistry>();
        builder.Services.AddSingleton<SessionEndpoint>();
        builder.Services.AddSingleton<BackhaulService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<BackhaulService>());
        builder.Services.AddHostedService<ShutdownService>();
        builder.Services.AddSingleton<MemoryTrimService>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MemoryTrimService>());
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddRelayHealth();
        builder.AddRelayWireGuard(); // WireGuard tunnel (issue 5): Gateway:WireGuard, "tunnel" health signal
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.ShutdownTimeout + TimeSpan.FromSeconds(5));

        var bind = IPAddress.Parse(options.BindAddress);
        builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = options.KestrelInlineScheduling);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Listen(bind, options.HttpPort, l =>
            {
                l.Protocols = HttpProtocols.Http1;
                UseFastUpgrade(l, options);
            });
            if (options.CertificatePath is not null)
            {
                var certificate = new CertificateHolder(options);
                _ = certificate.Current; // fail at start, not at the first handshake
                kestrel.Listen(bind, options.HttpsPort, l =>
                {
                    l.Protocols = HttpProtocols.Http1AndHttp2;
                    l.UseHttps(https => https.ServerCertificateSelector = (_, _) => certificate.Current);
                    UseFastUpgrade(l, options); // after TLS: it reads the decrypted request
                });
            }
        });

        var app = builder.Build();
        app.UseWebSockets();
        app.Map("/ws", (HttpContext context, SessionEndpoint endpoint) => endpoint.HandleAsync(context));
        app.MapRelayHealth();
        app.MapRelayMetrics();
        app.MapRelayTunnel(); // WireGuard tunnel (issue 5): GET /tunnel

        // Development demo chat widget (issue 7, gateway/Demo): GET /, /relay-client.global.js, POST /demo/token.
        // On when Gateway:DemoWidget is true; default true only in the Development environment.
        if (Demo.DemoEndpoints.IsEnabled(app.Configuration, app.Environment))
        {
            Demo.DemoEndpoints.MapDemoWidget(app);
        }

        return app;
    }

    private static void UseFastUpgrade(ListenOptions listen, GatewayOptions options)
    {
        if (options.FastUpgrade)
        {
            listen.Use(next => new Upgrade.WebSocketUpgradeMiddleware(
                next,
                listen.ApplicationServices.GetRequiredService<SessionEndpoint>(),
                options,
                listen.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger<Upgrade.WebSocketUpgradeMiddleware>()).OnConnectionAsync);
        }
    }

    /// <summary>The URLs the host is bound to (real ports when 0 was asked).</summary>
    public static IReadOnlyList<string> Urls(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
