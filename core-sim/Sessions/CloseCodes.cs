namespace Relay.CoreSim.Sessions;

/// <summary>Close codes core-sim uses (PROTOCOL.md numbering).</summary>
internal static class CloseCodes
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int ProtocolError = 1002;
    public const int Policy = 1008;
    public const int TooBig = 1009;
    public const int Internal = 1011;
    public const int TryAgainLater = 1013;
    public const int ReconnectNow = 4001;
    public const int TokenExpired = 4003;
    public const int SessionUnknown = 4004;
}
