namespace Relay.Contracts.Sessions;

/// <summary>
/// Websocket close codes of the session protocol (PROTOCOL.md), the one table for gateway, core-sim and
/// Relay.Client. The JS SDK's <c>CloseCodes</c> (clients/js/relay-client.js) carries the same names in camelCase;
/// a test in Relay.Contracts.Tests fails when the two differ.
/// </summary>
public static class CloseCodes
{
    /// <summary>1000: the session ended normally (e.g. taken over by another connection); the client stops.</summary>
    public const int Normal = 1000;

    /// <summary>1001: the other side goes away (shutdown, lost connection); the client backs off and resumes.</summary>
    public const int GoingAway = 1001;

    /// <summary>1003: a message of a kind the session protocol does not carry (binary). Core-sim only; a client treats it like 1001.</summary>
    public const int UnsupportedData = 1003;

    /// <summary>1006: the connection dropped without a close frame. Never sent; a client reports it for a lost connection.</summary>
    public const int Abnormal = 1006;

    /// <summary>1008: a policy was broken (a protocol error, the core's buffer for the client overflowed). A client over the relay's message rate is held to it, not closed.</summary>
    public const int Policy = 1008;

    /// <summary>1009: a message was bigger than allowed; the client drops it and resends the rest.</summary>
    public const int TooBig = 1009;

    /// <summary>1011: the server failed unexpectedly.</summary>
    public const int InternalError = 1011;

    /// <summary>1013: try again later (a slow consumer, streams refused).</summary>
    public const int TryAgainLater = 1013;

    /// <summary>4001: the relay drains; reconnect now (through the steering layer) and resume.</summary>
    public const int Draining = 4001;

    /// <summary>4003: the token expired or carries no usable claims; get a new token, reconnect and resume.</summary>
    public const int TokenExpired = 4003;

    /// <summary>4004: the core does not know the session; start a fresh one.</summary>
    public const int SessionUnknown = 4004;
}
