using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Relay.Gateway.EdgeHttp.Cache;

/// <summary>The edge cache (issue 18): services, the middleware in front of HTTP forwarding, its admin endpoint.</summary>
public static class EdgeCacheExtensions
{
    /// <summary>
    /// Registers the edge cache from <c>Gateway:EdgeHttp:Cache</c>: its options (validated at start, one line per bad
    /// rule), output caching with the rules' policy and a size-bounded store on the host's <see cref="TimeProvider"/>.
    /// Throws <see cref="OptionsValidationException"/> with one line for a rule key no option reads or a value that does
    /// not convert.
    /// </summary>
    public static IServiceCollection AddEdgeCache(this IServiceCollection services, IConfiguration configuration)
    {
        if (EdgeCacheOptionsValidator.CheckRuleKeys(configuration) is { } error)
        {
            throw new OptionsValidationException(EdgeCacheOptions.Section, typeof(EdgeCacheOptions), [error]);
        }

        services.AddOptions<EdgeCacheOptions>().Bind(configuration.GetSection(EdgeCacheOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeCacheOptions>, EdgeCacheOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<EdgeCacheRules>();
        services.AddSingleton<EdgeCacheStore>();
        services.AddSingleton<CacheFills>();
        services.AddSingleton<EdgeCacheMetrics>();
        services.AddSingleton<EdgeCachePolicy>();
        services.AddSingleton<EdgeCachePurger>();
        services.AddOutputCache();
        services.AddOptions<OutputCacheOptions>().Configure<IOptions<EdgeCacheOptions>, EdgeCachePolicy>((output, edge, policy) =>
        {
            output.SizeLimit = edge.Value.SizeLimitBytes;
            output.MaximumBodySize = edge.Value.MaximumBodyBytes;
            output.UseCaseSensitivePaths = true; // the origin may answer /APP.JS and /app.js differently: two entries
            output.AddBasePolicy(policy);
        });
        services.Replace(ServiceDescriptor.Singleton<IOutputCacheStore>(sp => sp.GetRequiredService<EdgeCacheStore>()));
        return services;
    }

    /// <summary>
    /// The edge cache in the pipeline: it takes the requests <paramref name="scope"/> says (default: those whose endpoint
    /// was marked with <see cref="WithEdgeCache{TBuilder}"/>, so it must come after routing and before the endpoints
    /// run), runs output caching for the cacheable ones, and lets the rest through. The forwarding to the origin runs
    /// after it (an endpoint, or the next middleware).
    /// </summary>
    public static IApplicationBuilder UseEdgeCache(this IApplicationBuilder app, Func<HttpContext, bool>? scope = null)
    {
        scope ??= static context => context.GetEndpoint()?.Metadata.GetMetadata<EdgeCacheMetadata>() is not null;
        if (app.ApplicationServices.GetService<Backhaul.BackhaulService>() is { } backhaul)
        {
            // Fleet-wide purge: the core's cache-purge order arrives as a Command frame on any backhaul link.
            backhaul.Pool.CommandReceived += app.ApplicationServices.GetRequiredService<EdgeCachePurger>().OnCommand;
        }

        app.UseMiddleware<EdgeCacheMiddleware>(scope);
        app.UseWhen(
            static context => context.Features.Get<EdgeCacheRequest>() is { Cacheable: true },
            branch => branch.UseOutputCache().UseMiddleware<OriginGuardMiddleware>());
        return app;
    }

    /// <summary>Marks forwarding endpoints as behind the edge cache (the default scope of <see cref="UseEdgeCache"/>).</summary>
    public static TBuilder WithEdgeCache<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(EdgeCacheMetadata.Instance);

    /// <summary>
    /// <c>POST /admin/cache/purge?prefix=/assets/</c> or <c>?tag=widget</c>: removes those entries (whole path segments:
    /// <c>/</c> is everything). <paramref name="authorized"/> is the gateway's admin check (the bearer admin key).
    /// </summary>
    public static IEndpointRouteBuilder MapEdgeCacheAdmin(this IEndpointRouteBuilder endpoints, Func<HttpContext, bool> authorized)
    {
        endpoints.MapPost("/admin/cache/purge", (HttpContext context, EdgeCachePurger purger) =>
        {
            if (!authorized(context))
            {
                return Results.Unauthorized();
            }

            int? purged = purger.Purge(context.Request.Query["prefix"], context.Request.Query["tag"], "admin API", out string? error);
            return purged is null
                ? Results.Json(new { error }, statusCode: StatusCodes.Status400BadRequest)
                : Results.Json(new { purged, prefix = (string?)context.Request.Query["prefix"], tag = (string?)context.Request.Query["tag"] });
        });
        return endpoints;
    }

    /// <summary>The edge cache's <c>/status</c> section, or null when it is not registered.</summary>
    public static object? DescribeEdgeCache(this IServiceProvider services) => services.GetService<EdgeCacheMetrics>()?.Describe();
}
