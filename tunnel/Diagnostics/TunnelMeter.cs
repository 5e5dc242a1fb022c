namespace Relay.Tunnel.Diagnostics;

/// <summary>The backhaul's meter, created per pool or listener from <c>LinkPoolOptions.MeterFactory</c> / <c>LinkListenerOptions.MeterFactory</c>.</summary>
public static class TunnelMeter
{
    /// <summary>The meter name to listen to (instruments <c>relay.backhaul.*</c>).</summary>
    public const string Name = "Relay.Tunnel";
}
