using Microsoft.Extensions.Options;

namespace Relay.Gateway.EdgeHttp;

/// <summary>
/// Edge HTTP (issue 18) in the host: <see cref="AddEdgeHttp"/> registers the options, YARP's forwarder and the
/// forwarder over the backhaul; <see cref="UseEdgeHttp"/> puts the forwarding in the pipeline, a terminal branch for
/// paths under the prefixes (others go on). The edge cache goes in front of it: <c>app.UseEdgeCache()</c> right
/// before <c>app.UseEdgeHttp()</c> in GatewayHost, asking <see cref="EdgeHttpPrefixes"/> which paths are forwarded.
/// </summary>
public static class EdgeHttpExtensions
{
    public static IServiceCollection AddEdgeHttp(this IServiceCollection services)
    {
        services.AddOptions<EdgeHttpOptions>().BindConfiguration(EdgeHttpOptions.Section).ValidateOnStart();
        services.PostConfigure<EdgeHttpOptions>(o => o.Prefixes = o.Prefixes.Length == 0 ? [.. EdgeHttpOptions.DefaultPrefixes] : o.Prefixes);
        services.AddSingleton<IValidateOptions<EdgeHttpOptions>, EdgeHttpOptionsValidator>();
        services.AddHttpForwarder();
        services.AddSingleton<EdgeHttpPrefixes>();
        services.AddSingleton<EdgeHttpForwarder>();
        return services;
    }

    /// <summary>Forwards requests under the prefixes to the core; a terminal branch (nothing after it runs for them).</summary>
    public static IApplicationBuilder UseEdgeHttp(this IApplicationBuilder app)
    {
        var prefixes = app.ApplicationServices.GetRequiredService<EdgeHttpPrefixes>();
        if (prefixes.All.Count == 0)
        {
            return app;
        }

        var forwarder = app.ApplicationServices.GetRequiredService<EdgeHttpForwarder>();
        return app.Use(next => context => prefixes.Matches(context.Request.Path) ? forwarder.ForwardAsync(context) : next(context));
    }
}
