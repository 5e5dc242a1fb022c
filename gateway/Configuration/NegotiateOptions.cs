namespace Relay.Gateway.Configuration;

/// <summary>The gateway's negotiate endpoint (issue 17), section "Gateway:Negotiate".</summary>
public sealed class NegotiateOptions
{
    /// <summary>
    /// The core's public negotiate URL (e.g. <c>https://core.example/v1/negotiate</c>), given as <c>tokenUrl</c> in this
    /// gateway's negotiate answer: a gateway cannot mint tokens, the core refreshes them there. Defaults to none (tokenUrl null).
    /// </summary>
    public string? TokenUrl { get; set; }

    /// <summary>
    /// The websocket URL clients reach this relay at (e.g. <c>wss://sg-1.relay.example/ws</c>), sent to the core in the health
    /// report: the core lists it in negotiate when its regions file does not name this relay. Defaults to none.
    /// </summary>
    public string? PublicUrl { get; set; }
}
