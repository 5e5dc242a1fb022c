using Microsoft.Extensions.Logging;

namespace Relay.CoreSim.Backhaul;

internal sealed partial class BackhaulService
{
    private static partial class Log
    {
        [LoggerMessage(200, LogLevel.Warning, "Stream from relay {Relay} carries no sub/site/role claims; closed with 4003")]
        public static partial void StreamWithoutClaims(ILogger logger, string relay);

        [LoggerMessage(201, LogLevel.Warning, "No relay keys (CoreSim:RelayKeys:<relayId>): every relay link is refused")]
        public static partial void NoRelayKeys(ILogger logger);
    }
}
