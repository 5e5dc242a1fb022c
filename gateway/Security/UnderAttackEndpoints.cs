using Microsoft.Extensions.Options;
using Relay.Gateway.Configuration;
using Relay.Gateway.Health;

namespace Relay.Gateway.Security;

/// <summary>Under Attack mode's services and endpoints: <c>GET /challenge</c>, <c>POST /admin/under-attack</c>.</summary>
internal static class UnderAttackEndpoints
{
    /// <summary>Registers Under Attack mode.</summary>
    /// <param name="services">The gateway's services.</param>
    /// <param name="sessionKeys">The session keys (<c>site/sub</c>) open on the relay now (the host reads its session registry).</param>
    public static IServiceCollection AddRelayUnderAttack(this IServiceCollection services, Func<IServiceProvider, IEnumerable<string>> sessionKeys)
    {
        services.AddOptions<UnderAttackOptions>().BindConfiguration(UnderAttackOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<UnderAttackOptions>, UnderAttackOptionsValidator>();
        services.AddSingleton<UnderAttackMode>();
        services.AddSingleton<ChallengeIssuer>();
        services.AddSingleton<UnderAttackMetrics>();
        services.AddSingleton(sp => new UnderAttackGate(
            sp.GetRequiredService<IOptions<UnderAttackOptions>>(),
            sp.GetRequiredService<UnderAttackMode>(),
            sp.GetRequiredService<ChallengeIssuer>(),
            sp.GetRequiredService<UnderAttackMetrics>(),
            sp.GetRequiredService<TimeProvider>(),
            () => sessionKeys(sp)));
        services.AddHostedService<UnderAttackService>();
        return services;
    }

    public static void MapRelayUnderAttack(this WebApplication app)
    {
        // A challenge for the caller's address. No credentials involved, so any page may ask (CORS *): a site on
        // another origin connects its visitors' websockets here.
        app.MapGet("/challenge", (HttpContext context, ChallengeIssuer challenges, UnderAttackMode mode) =>
        {
            var challenge = challenges.Issue(context.Connection.RemoteIpAddress ?? System.Net.IPAddress.None);
            context.Response.Headers.CacheControl = "no-store";
            context.Response.Headers.AccessControlAllowOrigin = "*";
            return Results.Json(new
            {
                underAttack = mode.IsOn,
                challenge = challenge.Value,
                difficulty = challenge.Difficulty,
                expiresAt = challenge.ExpiresAt,
                algorithm = "sha256-leading-zero-bits",
            });
        });
        app.MapPost("/admin/under-attack", (HttpContext context, UnderAttackMode mode, IOptions<GatewayOptions> options) =>
        {
            if (!HealthEndpoints.Authorized(context, options.Value))
            {
                return Results.Unauthorized();
            }

            // Only the two documented values: anything else (none, 0, off) turned the mode on before.
            bool on;
            switch (context.Request.Query["on"].ToString())
            {
                case "true":
                    on = true;
                    break;
                case "false":
                    on = false;
                    break;
                default:
                    return Results.Text("give on=true or on=false\n", statusCode: StatusCodes.Status400BadRequest);
            }

            mode.Set(on, UnderAttackMode.Operator, on ? "turned on through the admin API" : "turned off through the admin API");
            return Results.Json(new { underAttack = mode.Describe() });
        });
    }
}
