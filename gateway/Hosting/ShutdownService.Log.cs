namespace Relay.Gateway.Hosting;

internal sealed partial class ShutdownService
{
    private static partial class Log
    {
        [LoggerMessage(1200, LogLevel.Information, "Shutting down: closing {Count} sessions with 1001")]
        public static partial void ShuttingDown(ILogger logger, int count);
    }
}
