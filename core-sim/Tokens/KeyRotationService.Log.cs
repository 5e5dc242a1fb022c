namespace Relay.CoreSim.Tokens;

internal sealed partial class KeyRotationService
{
    private static partial class Log
    {
        [LoggerMessage(4100, LogLevel.Information, "Token signing key rotated: new kid {KeyId}; the previous key stays published for {Overlap}")]
        public static partial void Rotated(ILogger logger, string keyId, TimeSpan overlap);
    }
}
