using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Server;

public sealed partial class LinkListener
{
    private static partial class Log
    {
        [LoggerMessage(300, LogLevel.Information, "Backhaul listening on {EndPoint}")]
        public static partial void Listening(ILogger logger, string endPoint);

        [LoggerMessage(301, LogLevel.Warning, "Backhaul accept failed: {Error}")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(302, LogLevel.Warning, "Link from {Remote} refused: {Error}")]
        public static partial void HandshakeRefused(ILogger logger, string remote, string error);

        [LoggerMessage(303, LogLevel.Information, "Link from relay {Relay} ({Region}) at {Remote} accepted")]
        public static partial void LinkAccepted(ILogger logger, string relay, string region, string remote);

        [LoggerMessage(304, LogLevel.Error, "Listener heartbeat failed")]
        public static partial void TickFailed(ILogger logger, Exception exception);

        [LoggerMessage(305, LogLevel.Error, "Health report handler failed for relay {Relay}")]
        public static partial void HealthHandlerFailed(ILogger logger, string relay, Exception exception);

        [LoggerMessage(306, LogLevel.Debug, "Backhaul connection from {Remote} closed before its handshake: {Reason}")]
        public static partial void ConnectionShed(ILogger logger, string remote, string reason);

        [LoggerMessage(308, LogLevel.Error, "Command {Name} for relay {Relay} not sent: {Bytes} bytes do not fit in a frame")]
        public static partial void CommandTooLarge(ILogger logger, string relay, string name, int bytes);

        [LoggerMessage(307, LogLevel.Debug, "Link from {Remote} closed: no valid handshake within {Seconds} s")]
        public static partial void HandshakeTimedOut(ILogger logger, string remote, double seconds);

        [LoggerMessage(309, LogLevel.Warning, "This node takes no new sessions ({Reason}): its relays are told to place them on other nodes")]
        public static partial void NewStreamsPaused(ILogger logger, string reason);

        [LoggerMessage(310, LogLevel.Information, "This node takes new sessions again: its relays are told")]
        public static partial void NewStreamsResumed(ILogger logger);
    }
}
