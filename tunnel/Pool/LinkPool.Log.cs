using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Pool;

public sealed partial class LinkPool
{
    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Information, "Link {Link} up to core node {Node}")]
        public static partial void LinkUp(ILogger logger, string link, string node);

        [LoggerMessage(201, LogLevel.Debug, "Link {Link}: connect failed: {Error}")]
        public static partial void ConnectFailed(ILogger logger, string link, string error);

        [LoggerMessage(202, LogLevel.Error, "Link {Link}: authentication failed: {Error}. Check that Gateway:Backhaul:SharedKey is the key the core holds for this relay id (CoreSim:RelayKeys:<relayId>).")]
        public static partial void AuthenticationFailed(ILogger logger, string link, string error);

        [LoggerMessage(203, LogLevel.Warning, "Link {Link}: handshake failed: {Error}")]
        public static partial void HandshakeFailed(ILogger logger, string link, string error);

        [LoggerMessage(204, LogLevel.Information, "Link {Link} down: {Count} streams waiting to re-attach")]
        public static partial void StreamsDetached(ILogger logger, string link, int count);

        [LoggerMessage(205, LogLevel.Error, "Pool heartbeat failed")]
        public static partial void TickFailed(ILogger logger, Exception exception);

        [LoggerMessage(206, LogLevel.Error, "Command handler for {Command} failed")]
        public static partial void CommandHandlerFailed(ILogger logger, string command, Exception exception);

        [LoggerMessage(207, LogLevel.Warning, "Core node {Endpoint} takes no new sessions ({Reason}): new sessions go to the next node of their ranking")]
        public static partial void EndpointPaused(ILogger logger, string endpoint, string reason);

        [LoggerMessage(208, LogLevel.Information, "Core node {Endpoint} takes new sessions again")]
        public static partial void EndpointResumed(ILogger logger, string endpoint);
    }
}
