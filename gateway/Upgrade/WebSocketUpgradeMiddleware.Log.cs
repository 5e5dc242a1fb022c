namespace Relay.Gateway.Upgrade;

internal sealed partial class WebSocketUpgradeMiddleware
{
    private static partial class Log
    {
        [LoggerMessage(1010, LogLevel.Debug, "Connection {Connection}: no request head within {Timeout}; closed")]
        public static partial void HeadTimeout(ILogger logger, string connection, TimeSpan timeout);

        [LoggerMessage(1011, LogLevel.Debug, "Connection {Connection}: reset by the client before its request head; closed")]
        public static partial void ResetBeforeHead(ILogger logger, string connection);
    }
}
