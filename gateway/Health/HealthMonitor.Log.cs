namespace Relay.Gateway.Health;

internal sealed partial class HealthMonitor
{
    private static partial class Log
    {
        [LoggerMessage(1300, LogLevel.Warning, "Relay state {From} → {To}: {Reasons}")]
        public static partial void StateChanged(ILogger logger, RelayState from, RelayState to, string reasons);

        [LoggerMessage(1301, LogLevel.Error, "Health evaluation failed")]
        public static partial void EvaluationFailed(ILogger logger, Exception exception);

        [LoggerMessage(1303, LogLevel.Information, "Healthy again: ending the automatic drain")]
        public static partial void Recovered(ILogger logger);

        [LoggerMessage(1302, LogLevel.Warning, "Self-drain: {Result}")]
        public static partial void SelfDrain(ILogger logger, string result);
    }
}
