using Microsoft.Extensions.Configuration.Memory;
using Relay.Contracts.Logging;

namespace Relay.Gateway.Logging;

/// <summary>The gateway's logging defaults: no request lines, no tokens.</summary>
internal static class LoggingDefaults
{
    /// <summary>
    /// ASP.NET Core logs at Warning (one Information line per request would be the busiest thing in the log); a default,
    /// below every other source, so <c>--Logging:LogLevel:Microsoft.AspNetCore=Information</c> still turns request
    /// lines on; so does YARP (edge HTTP's forwarder, two Information lines per forwarded request). Framework entries have
    /// <c>access_token=</c> values redacted either way. The health-check service logs
    /// every probe that finds the relay not ready at Error: expected while the backhaul comes up, and the relay's own
    /// state changes are logged (Warning, HealthMonitor), so its results stay out of the log.
    /// </summary>
    public static void Apply(WebApplicationBuilder builder)
    {
        ((IConfigurationBuilder)builder.Configuration).Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData =
            [
                new("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
                new("Logging:LogLevel:Yarp", "Warning"), // edge HTTP's forwarder: two Information lines per request
                new("Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks", "Critical"),
            ],
        });
        RedactingLoggerFactory.Register(builder.Services);
    }
}
