using System.Net;

namespace Relay.CoreSim.Backhaul;

/// <summary>
/// Kestrel's endpoint for HTTP connections that arrive as backhaul streams (issue 18): bound by
/// <see cref="BackhaulHttpListenerFactory"/>, so every HTTP stream a relay opens is served by core-sim's own pipeline.
/// </summary>
internal sealed class BackhaulHttpEndPoint : EndPoint
{
    public static readonly BackhaulHttpEndPoint Instance = new();

    /// <summary>How Kestrel names it ("Now listening on: http://backhaul-streams").</summary>
    public override string ToString() => "backhaul-streams";
}
