using Yarp.ReverseProxy.Forwarder;

namespace Relay.Gateway.EdgeHttp;

internal sealed partial class EdgeHttpForwarder
{
    private static partial class Log
    {
        [LoggerMessage(2200, LogLevel.Debug, "Edge HTTP: forwarding {Path} failed ({Error}): {Reason}")]
        public static partial void ForwardFailed(ILogger logger, PathString path, ForwarderError error, string reason);
    }
}
