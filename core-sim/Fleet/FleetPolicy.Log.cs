using Microsoft.Extensions.Logging;

namespace Relay.CoreSim.Fleet;

internal sealed partial class FleetPolicy
{
    private static partial class Log
    {
        [LoggerMessage(4000, LogLevel.Warning, "Fleet policy: relay {Relay}: {Why}")]
        public static partial void DrainOrdered(ILogger logger, string relay, string why);

        [LoggerMessage(4001, LogLevel.Error, "Fleet policy step failed")]
        public static partial void StepFailed(ILogger logger, Exception exception);
    }
}
