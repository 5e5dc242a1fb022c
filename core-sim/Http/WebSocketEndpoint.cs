using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Relay.CoreSim.Configuration;
using Relay.CoreSim.Faults;
using Relay.CoreSim.Sessions;
using Relay.Contracts.Tokens;

namespace Relay.CoreSim.Http;

/// <summary>The direct client endpoint: verifies the token before the upgrade, then runs a session.</summary>
internal static class WebSocketEndpoint
{
    public static async Task HandleAsync(HttpContext context, TokenVerifier verifier, SessionRegistry registry, FaultState faults, IOptions<CoreSimOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsync("websocket upgrade required\n").ConfigureAwait(false);
            return;
        }

        string? token = context.Request.Query["access_token"];
        if (string.IsNullOrEmpty(token) && context.Request.Headers.Authorization.ToString() is { } auth && auth.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            token = auth["Bearer ".Length..];
        }

        var result = verifier.Verify(token);
        if (!result.IsValid)
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await context.Response.WriteAsync($"token refused: {result.Error}\n").ConfigureAwait(false);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        var connection = new SessionConnection(new WebSocketTransport(socket, options.Value.MaxMessageBytes, options.Value.CloseTimeout, time), result.Claims!, registry, faults, options.Value, time, loggers.CreateLogger<SessionConnection>());
        await connection.RunAsync(context.RequestAborted).ConfigureAwait(false);
    }
}
