namespace Relay.Gateway.Health;

internal sealed partial class Rebalancer
{
    private static partial class Log
    {
        [LoggerMessage(1800, LogLevel.Information, "Rebalance of region {Region} started: {Count} sessions of its users to move home")]
        public static partial void RebalanceStarted(ILogger logger, string region, int count);

        [LoggerMessage(1801, LogLevel.Information, "Rebalance of region {Region} finished: {Count} sessions moved in {Batches} batches, {Ms} ms")]
        public static partial void RebalanceFinished(ILogger logger, string region, int count, int batches, double ms);

        [LoggerMessage(1802, LogLevel.Warning, "Ignored a malformed rebalance command from the core")]
        public static partial void BadOrder(ILogger logger);
    }
}
