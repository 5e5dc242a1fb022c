namespace Relay.Gateway.Hosting;

internal sealed partial class SystemdReadiness
{
    private static partial class Log
    {
        [LoggerMessage(2500, LogLevel.Information, "Ready: told systemd READY=1 (/readyz answers 200)")]
        public static partial void Ready(ILogger logger);

        [LoggerMessage(2501, LogLevel.Warning, "sd_notify {State} failed: {Error}")]
        public static partial void NotifyFailed(ILogger logger, string state, string error);
    }
}
