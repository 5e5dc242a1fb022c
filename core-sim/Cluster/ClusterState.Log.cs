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
    }
}
