namespace Relay.Gateway.Sessions;

internal sealed partial class SessionEndpoint
{
    private static partial class Log
    {
        [LoggerMessage(1000, LogLevel.Debug, "Upgrade refused with {Status}: {Reason}")]
        public static partial void Refused(ILogger logger, int status, string reason);

        [LoggerMessage(1001, LogLevel.Debug, "Session {Key} opened on stream {Stream}")]
        public static partial void SessionOpened(ILogger logger, string key, ulong stream);

        [LoggerMessage(1002, LogLevel.Debug, "Session {Key} closed with {Code}")]
        public static partial void SessionClosed(ILogger logger, string key, int code);
    }
}
