using Microsoft.Extensions.Logging;

namespace Relay.CoreSim.Http;

internal static partial class RebalanceEndpoint
{
    private static partial class Log
    {
        [LoggerMessage(4200, LogLevel.Information, "Rebalance of region {Region}: {Sessions} sessions of its users on {Relays} relays of other regions asked to go home")]
        public static partial void RebalanceOrdered(ILogger logger, string region, int sessions, int relays);
    }
}
