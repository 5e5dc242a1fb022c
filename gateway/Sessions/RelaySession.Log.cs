namespace Relay.Gateway.Sessions;

internal sealed partial class RelaySession
{
    private static partial class Log
    {
        [LoggerMessage(1100, LogLevel.Debug, "Session: client read ended: {Error}")]
        public static partial void ClientReadEnded(ILogger logger, string error);

        [LoggerMessage(1101, LogLevel.Debug, "Session: client write ended: {Error}")]
        public static partial void ClientWriteEnded(ILogger logger, string error);

        [LoggerMessage(1102, LogLevel.Debug, "Session closed with {Code}: {Reason}")]
        public static partial void ClientViolation(ILogger logger, int code, string reason);

        [LoggerMessage(1103, LogLevel.Information, "Session closed with 1013: its client did not read {Bytes} queued bytes")]
        public static partial void SlowClient(ILogger logger, int bytes);

        [LoggerMessage(1104, LogLevel.Debug, "Session: the client sent {Bytes} bytes more after the close without closing; the connection is aborted")]
        public static partial void DiscardLimitReached(ILogger logger, int bytes);

        [LoggerMessage(1106, LogLevel.Error, "Session: the client pump failed; the session is closed with 1011")]
        public static partial void ClientPumpFailed(ILogger logger, Exception exception);

        [LoggerMessage(1107, LogLevel.Error, "Session: writing to the client failed; the connection is aborted and the session ended")]
        public static partial void ClientWriteFailed(ILogger logger, Exception exception);
    }
}
