using Microsoft.Extensions.Logging;

namespace Relay.Gateway.EdgeHttp.Cache;

internal sealed partial class EdgeCachePurger
{
    private static partial class Log
    {
        [LoggerMessage(2300, LogLevel.Information, "Edge cache purge by {Kind} {Value}: {Entries} entries removed ({Source})")]
        public static partial void Purged(ILogger logger, string kind, string value, int entries, string source);

        [LoggerMessage(2301, LogLevel.Warning, "Edge cache purge order from the core refused: {Error}")]
        public static partial void OrderRefused(ILogger logger, string error);
    }
}
