using Microsoft.Extensions.Logging;

namespace Relay.WireGuard.Devices;

public sealed partial class WireGuardGoDevice
{
    private static partial class Log
    {
        [LoggerMessage(900, LogLevel.Information, "WireGuard {Interface}: wireguard-go started (pid {Pid})")]
        public static partial void Started(ILogger logger, string @interface, int pid);

        [LoggerMessage(901, LogLevel.Information, "WireGuard {Interface}: configured with {Peers} peer(s), addresses assigned, link up")]
        public static partial void Configured(ILogger logger, string @interface, int peers);

        [LoggerMessage(902, LogLevel.Information, "WireGuard {Interface}: wireguard-go stopped and interface removed")]
        public static partial void Stopped(ILogger logger, string @interface);

        [LoggerMessage(903, LogLevel.Debug, "WireGuard {Interface}: wireguard-go: {Line}")]
        public static partial void ChildOutput(ILogger logger, string @interface, string line);
    }
}
