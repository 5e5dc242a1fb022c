using System.Net;

namespace Relay.Gateway.Edge;

internal sealed partial class GatedSocketTransportFactory
{
    private static partial class Log
    {
        [LoggerMessage(1040, LogLevel.Debug, "Connection from {Remote} reset at accept: the gate would close it (a cap, or at the pre-auth cap its address holds the most pre-auth connections)")]
        public static partial void ResetAtAccept(ILogger logger, IPEndPoint remote);

        [LoggerMessage(1041, LogLevel.Error, "A connection on the plain listener failed before or during its session")]
        public static partial void OwnedConnectionFailed(ILogger logger, Exception exception);
    }
}
