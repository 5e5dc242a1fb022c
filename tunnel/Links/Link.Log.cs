using Microsoft.Extensions.Logging;

namespace Relay.Tunnel.Links;

internal sealed partial class Link
{
    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Debug, "Link {Link} closed: {Reason}")]
        public static partial void LinkClosed(ILogger logger, string link, LinkCloseReason reason);

        [LoggerMessage(101, LogLevel.Warning, "Link {Link} failed: {Reason}")]
        public static partial void LinkFailed(ILogger logger, string link, LinkCloseReason reason);

        [LoggerMessage(102, LogLevel.Warning, "Link {Link} closed on a bad frame: {Error}")]
        public static partial void BadFrame(ILogger logger, string link, string error);

        [LoggerMessage(103, LogLevel.Debug, "Link {Link} read ended: {Error}")]
        public static partial void ReadFailed(ILogger logger, string link, string error);

        [LoggerMessage(104, LogLevel.Debug, "Link {Link} write ended: {Error}")]
        public static partial void WriteFailed(ILogger logger, string link, string error);

        [LoggerMessage(105, LogLevel.Warning, "Link {Link} silent for {Seconds} s: closing it as dead")]
        public static partial void DeadLink(ILogger logger, string link, double seconds);

        [LoggerMessage(107, LogLevel.Error, "Link {Link} read loop failed unexpectedly")]
        public static partial void ReadCrashed(ILogger logger, string link, Exception exception);

        [LoggerMessage(106, LogLevel.Information, "Link {Link}: peer is going away ({Reason})")]
        public static partial void PeerGoingAway(ILogger logger, string link, string reason);
    }
}
