namespace Relay.Gateway.Security;

internal sealed partial class UnderAttackMode
{
    private static partial class Log
    {
        [LoggerMessage(2100, LogLevel.Warning, "Under Attack mode {OnOff} ({Source}): {Reason}")]
        public static partial void Switched(ILogger logger, string onOff, string source, string reason);
    }
}
