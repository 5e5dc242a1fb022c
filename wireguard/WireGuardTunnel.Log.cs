using Microsoft.Extensions.Logging;

namespace Relay.WireGuard;

public sealed partial class WireGuardTunnel
{
    private static partial class Log
    {
        [LoggerMessage(910, LogLevel.Information, "WireGuard {Interface} up ({Backend}), addresses {Addresses}")]
        public static partial void Up(ILogger logger, string @interface, string backend, string addresses);

        [LoggerMessage(911, LogLevel.Warning, "WireGuard unhealthy: {Reason}")]
        public static partial void Unhealthy(ILogger logger, string reason);

        [LoggerMessage(912, LogLevel.Information, "WireGuard {Interface} healthy again")]
        public static partial void Recovered(ILogger logger, string @interface);

        [LoggerMessage(913, LogLevel.Warning, "WireGuard {Interface}: wireguard-go exited; restarting it")]
        public static partial void Restarting(ILogger logger, string @interface);

        [LoggerMessage(914, LogLevel.Warning, "WireGuard {Interface}: restart failed: {Error}")]
        public static partial void RestartFailed(ILogger logger, string @interface, string error);

        [LoggerMessage(915, LogLevel.Error, "WireGuard poll loop failed unexpectedly")]
        public static partial void PollCrashed(ILogger logger, Exception exception);

        [LoggerMessage(916, LogLevel.Information, "WireGuard {Interface} torn down")]
        public static partial void Down(ILogger logger, string @interface);
    }
}
