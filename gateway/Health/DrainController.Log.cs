namespace Relay.Gateway.Health;

internal sealed partial class DrainController
{
    private static partial class Log
    {
        [LoggerMessage(1400, LogLevel.Warning, "Drain started ({Source}): {Count} sessions to move")]
        public static partial void DrainStarted(ILogger logger, string source, int count);

        [LoggerMessage(1401, LogLevel.Information, "Drain finished: {Count} sessions moved in {Ms} ms")]
        public static partial void DrainFinished(ILogger logger, int count, double ms);

        [LoggerMessage(1402, LogLevel.Information, "Undrained: taking sessions again")]
        public static partial void Undrained(ILogger logger);

        [LoggerMessage(1404, LogLevel.Warning, "The core's drain command was refused: {Why}")]
        public static partial void DrainCommandRefused(ILogger logger, string why);

        [LoggerMessage(1405, LogLevel.Warning, "Drain taken over ({Source}): it no longer ends when the relay is healthy again")]
        public static partial void DrainTakenOver(ILogger logger, string source);

        [LoggerMessage(1403, LogLevel.Warning, "Ignored a malformed {Command} command from the core")]
        public static partial void BadCommand(ILogger logger, string command);
    }
}
