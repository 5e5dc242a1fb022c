namespace Relay.Gateway.Hosting;

internal sealed partial class MemoryTrimService
{
    private static partial class Log
    {
        [LoggerMessage(1600, LogLevel.Information, "Quiet after a burst: memory trimmed from {Before} MiB to {After} MiB (GC pause {PauseMs:F1} ms)")]
        public static partial void Trimmed(ILogger logger, long before, long after, double pauseMs);
    }
}
