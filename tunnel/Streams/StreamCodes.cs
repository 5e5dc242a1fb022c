namespace Relay.Tunnel.Streams;

/// <summary>Close codes a stream ends with when the backhaul itself ends it (websocket numbering).</summary>
public static class StreamCodes
{
    /// <summary>Normal close.</summary>
    public const int Normal = 1000;

    /// <summary>The peer is going away (shutdown).</summary>
    public const int GoingAway = 1001;

    /// <summary>The peer does not take what the stream carries (an OPEN of a kind it does not know).</summary>
    public const int Unsupported = 1003;

    /// <summary>Policy: an OPEN over the limits (<see cref="Protocol.OpenInfo.MaxChars"/>).</summary>
    public const int PolicyViolation = 1008;

    /// <summary>The backhaul lost the stream: its link died and it was not re-attached in time,
    /// or the peer no longer knew it. The client should reconnect and resume its session.</summary>
    public const int BackhaulLost = 1011;

    /// <summary>The core refuses new streams for now.</summary>
    public const int TryAgainLater = 1013;
}
