namespace Relay.Gateway.Health;

internal sealed partial class AgentCheckServer
{
    private static partial class Log
    {
        [LoggerMessage(1500, LogLevel.Information, "HAProxy agent-check listening on TCP {Port}")]
        public static partial void Listening(ILogger logger, int port);
    }
}
