using Microsoft.Extensions.Logging;

namespace Relay.CoreSim.Cluster;

internal sealed partial class ClusterState
{
    private static partial class Log
    {
        [LoggerMessage(4300, LogLevel.Information, "Cluster mode: broker {Broker}, node {Node} (connected={Connected})")]
        public static partial void Connected(ILogger logger, string broker, string node, bool connected);

        [LoggerMessage(4301, LogLevel.Warning, "Cluster broker connection lost ({Failure}): {Message}")]
        public static partial void BrokerLost(ILogger logger, string failure, string? message);

        [LoggerMessage(4302, LogLevel.Information, "Cluster node {Node} subscribed to its broker channel")]
        public static partial void Subscribed(ILogger logger, string node);

        [LoggerMessage(4303, LogLevel.Warning, "Cluster node {Node} could not subscribe to its broker channel (tries again each heartbeat): {Message}")]
        public static partial void SubscribeFailed(ILogger logger, string node, string message);
    }
}
