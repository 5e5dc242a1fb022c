using System.Net;

namespace Relay.Gateway.Edge;

internal sealed partial class ConnectionGateMiddleware
{
    private static partial class Log
    {
        [LoggerMessage(1030, LogLevel.Debug, "Connection from {Remote} closed at once: {Cap} is reached")]
        public static partial void Refused(ILogger logger, EndPoint? remote, string cap);

        [LoggerMessage(1031, LogLevel.Debug, "Connection from trusted proxy {Proxy} closed: no valid PROXY v2 header in time")]
        public static partial void BadProxyHeader(ILogger logger, IPEndPoint proxy);

        [LoggerMessage(1032, LogLevel.Debug, "Pre-auth connection from {Remote} evicted at the pre-auth cap for a newer one: {Reason}")]
        public static partial void Evicted(ILogger logger, EndPoint? remote, string reason);
    }
}
