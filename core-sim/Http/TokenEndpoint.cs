using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Relay.Contracts.Tokens;
using Relay.CoreSim.Configuration;

namespace Relay.CoreSim.Http;

/// <summary>
/// POST /v1/tokens. Refused cross-origin (an <c>Origin</c> that is not core-sim's own: 403), so no web page can mint
/// tokens through a visitor's browser. Without the admin key it mints visitor tokens, and only in the Development
/// environment; operator tokens, and any token elsewhere, need <c>Authorization: Bearer CoreSim:AdminKey</c> (401).
/// </summary>
internal static class TokenEndpoint
{
    /// <summary>The longest sub and site a token may carry.</summary>
    public const int MaxClaimChars = 1024;

    public static IResult Issue(HttpContext context, TokenRequest request, TokenIssuer issuer, IOptions<CoreSimOptions> options, IHostEnvironment environment)
    {
        if (!IsSameOrigin(context.Request))
        {
            return Results.Json(new { error = "cross-origin token requests are refused" }, statusCode: StatusCodes.Status403Forbidden);
        }

        if (string.IsNullOrEmpty(request.Sub) || string.IsNullOrEmpty(request.Site) || !TokenClaims.IsKnownRole(request.Role))
        {
            return Results.BadRequest(new { error = "sub and site are required; role must be visitor or operator" });
        }

        if (request.Sub.Length > MaxClaimChars || request.Site.Length > MaxClaimChars)
        {
            // A relay's OPEN carries sub and site (and site/sub as its session key): the core refuses an OPEN of more
            // than OpenInfo.MaxChars characters, so it never mints a token that could not open a stream.
            return Results.BadRequest(new { error = $"sub and site are at most {MaxClaimChars} characters" });
        }

        if (!AdminKey.IsPresented(context.Request, options.Value.AdminKey))
        {
            if (!environment.IsDevelopment())
            {
                return AdminKey.Challenge(context, "token minting is open only in the Development environment; send Authorization: Bearer <CoreSim:AdminKey>");
            }

            if (request.Role == "operator")
            {
                return AdminKey.Challenge(context, "operator tokens need the admin key: Authorization: Bearer <CoreSim:AdminKey>");
            }
        }

        var lifetime = request.TtlSeconds is { } ttl ? TimeSpan.FromSeconds(ttl) : options.Value.DefaultTokenLifetime;
        if (lifetime > options.Value.MaxTokenLifetime)
        {
            return Results.BadRequest(new { error = $"ttlSeconds above the maximum {options.Value.MaxTokenLifetime.TotalSeconds}" });
        }

        var (token, expiresAt) = issuer.Issue(request.Sub, request.Site, request.Role!, lifetime);
        return Results.Ok(new { token, expiresAt });
    }

    /// <summary>No Origin header (curl, tools, the gateway's proxy) or core-sim's own scheme://host:port.</summary>
    private static bool IsSameOrigin(HttpRequest request)
    {
        string origin = request.Headers.Origin.ToString();
        return origin.Length == 0
            || string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
    }
}
