using Microsoft.Extensions.Logging;

namespace Relay.CoreSim.Sessions;

internal sealed partial class SessionConnection
{
    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Debug, "Session {Session} welcomed (resumed={Resumed}, relay={Relay})")]
        public static partial void Welcomed(ILogger logger, string session, bool resumed, string? relay);

        [LoggerMessage(101, LogLevel.Debug, "Resume of session {Session} refused: unknown, expired or wrong token")]
        public static partial void ResumeRefused(ILogger logger, string? session);

        [LoggerMessage(102, LogLevel.Debug, "Session {Session} connection ended (relay={Relay})")]
        public static partial void Detached(ILogger logger, string? session, string? relay);

        [LoggerMessage(103, LogLevel.Error, "Session {Session} connection failed")]
        public static partial void ConnectionFailed(ILogger logger, string? session, Exception exception);

        [LoggerMessage(104, LogLevel.Debug, "Session {Session} ended: room refused ({Reason})")]
        public static partial void RoomRefused(ILogger logger, string session, string reason);

        [LoggerMessage(105, LogLevel.Warning, "Relay {Relay} opened a session under id {Session}, which is already in use: refused")]
        public static partial void EdgeSessionRefused(ILogger logger, string session, string? relay);

        [LoggerMessage(106, LogLevel.Information, "Session {Session} closed with 1013: cluster broker unavailable ({Reason})")]
        public static partial void BrokerUnavailable(ILogger logger, string? session, string reason);
    }
}
